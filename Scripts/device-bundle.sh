#!/usr/bin/env bash
# Builds what a GPU machine without Swift needs into .device/ (git-ignored): a statically linked
# `recur` for any x86-64 CPU with AVX2+FMA (haswell), the OpenCL ICD loader library, and the scripts.
# Then run Scripts/gpu-report.sh there (e.g. through the device tool with carry [".device"]).
set -euo pipefail
cd "$(dirname "$0")/.."
RECUR_TARGET_CPU=haswell swift build -c release --static-swift-stdlib --scratch-path .build-static --product recur
mkdir -p .device
cp .build-static/release/recur .device/recur
strip .device/recur   # debug info would push the bundle past what a device run can carry
lib=$(ldconfig -p | awk '/libOpenCL.so.1 / {print $NF; exit}')
if [ -z "$lib" ]; then
  (cd /tmp && apt-get download ocl-icd-libopencl1 >/dev/null && dpkg -x ocl-icd-libopencl1_*.deb /tmp/ocl-icd)
  lib=$(find /tmp/ocl-icd -name 'libOpenCL.so.1*' | head -1)
fi
cp -L "$lib" .device/libOpenCL.so.1
cp Scripts/gpu-report.sh .device/
[ -f Benchmarks/pytorch_peer.py ] && cp Benchmarks/pytorch_peer.py .device/
ls -la .device
