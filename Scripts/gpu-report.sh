#!/usr/bin/env bash
# The GPU half in one go on a machine with an NVIDIA GPU (no Swift needed): registers NVIDIA's OpenCL
# driver with the ICD loader, then records devices, verify over several seeds, a CPU-vs-GPU training
# run compared byte for byte, and benchmarks (with PyTorch as a peer when it is installed).
# Usage: gpu-report.sh [BUNDLE_DIR] [OUT_DIR]   (BUNDLE_DIR from Scripts/device-bundle.sh)
set -uo pipefail
bundle=$(cd "${1:-.device}" && pwd); out=${2:-${OUT:-gpu-report}}
mkdir -p "$out"; out=$(cd "$out" && pwd)
recur="$bundle/recur"
export LD_LIBRARY_PATH="$bundle${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nv=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl.so.1/ {print $NF; exit}')
[ -z "$nv" ] && nv=$(find / -name 'libnvidia-opencl.so.1' -not -path '*/proc/*' 2>/dev/null | head -1)
if [ -n "$nv" ]; then
  mkdir -p "$out/vendors"; echo "$nv" > "$out/vendors/nvidia.icd"
  export OCL_ICD_VENDORS="$out/vendors"
  echo "NVIDIA OpenCL driver: $nv"
else
  echo "no libnvidia-opencl.so.1 found: using the system's ICDs"
fi
report="$out/report.md"
{
  echo "# Recur GPU report, $(date -u +%Y-%m-%d)"
  echo; echo '```'; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true; echo '```'
  echo; echo "## recur devices"; echo '```'; "$recur" devices 2>&1; echo '```'
} > "$report"
"$recur" devices --json > "$out/devices.json" 2>&1
echo "## recur verify --device opencl (seeds 1-5, subnormal inputs included)" >> "$report"
for seed in 1 2 3 4 5; do
  "$recur" verify --device opencl:0 --seed "$seed" --cases 64 --json > "$out/verify-$seed.json" 2>> "$out/verify.log"
  echo "- seed $seed: exit $? $(grep -o '"allIdentical" : [a-z]*' "$out/verify-$seed.json")" >> "$report"
done
"$recur" verify --device opencl:0 --seed 1 >> "$out/verify.txt" 2>&1
echo "## Training on the GPU and on the CPU: checkpoint bytes" >> "$report"
args=(train --task memory --max-distance 20 --hidden 64 --embedding 32 --batch 32 --steps 200 --eval-every 100 --seed 3)
"$recur" "${args[@]}" --device cpu --out "$out/train-cpu" > "$out/train-cpu.log" 2>&1
"$recur" "${args[@]}" --device opencl:0 --out "$out/train-gpu" > "$out/train-gpu.log" 2>&1
for f in model.safetensors trainer.safetensors; do
  if cmp -s "$out/train-cpu/checkpoint/$f" "$out/train-gpu/checkpoint/$f"; then echo "- $f: identical" >> "$report"; else echo "- $f: DIFFERENT" >> "$report"; fi
done
grep -h 'done:' "$out"/train-*.log | sed 's/^/    /' >> "$report"
echo "## recur bench --device opencl:0" >> "$report"
echo '```' >> "$report"; "$recur" bench --device opencl:0 --repeats 7 --json "$out/bench.json" >> "$report" 2>&1; echo '```' >> "$report"
echo "## Big char LSTM training step (2x512, batch 64 x 100)" >> "$report"
for d in opencl:0 cpu; do
  "$recur" train --task memory --cell lstm --hidden 512 --embedding 512 --layers 2 --batch 64 --max-distance 90 --steps 6 --log-every 3 --eval-every 1000 --device "$d" 2>&1 | grep -E 'step 6/' | sed "s/^/- $d: /" >> "$report"
done
if python3 -c 'import torch' 2>/dev/null && [ -f "$bundle/pytorch_peer.py" ]; then
  echo "## PyTorch peer" >> "$report"; python3 "$bundle/pytorch_peer.py" >> "$report" 2>&1
else
  echo "## PyTorch peer: not installed on this machine" >> "$report"
fi
echo "report: $report"
