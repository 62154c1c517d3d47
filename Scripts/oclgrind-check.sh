#!/usr/bin/env bash
# Runs every kernel under oclgrind (out-of-bounds accesses, data races, uninitialised values,
# API misuse) through the op catalogue, once per matmul kernel variant (the register-blocked one with
# the float16 cell kernels), and fails on any report.
#   bash Scripts/oclgrind-check.sh [path/to/recur]      (default: .build/debug/recur)
# Needs the Debian package oclgrind. Two settings work around oclgrind 21.10 limits, not ours:
#   RECUR_CL_OPTIONS=-cl-opt-disable  its interpreter cannot run LLVM's `freeze` instruction, which
#                                     clang's optimiser emits (conv1d_backward_data, dropout);
#   RECUR_CL_KEEP_BUFFERS=1           it keeps a released buffer's shadow state for the next buffer
#                                     given the same name and reports false uninitialised reads
#                                     (Scripts/oclgrind/reuse-repro.c shows it without Recur).
set -euo pipefail
recur=${1:-.build/debug/recur}
command -v oclgrind >/dev/null || { echo "oclgrind-check: oclgrind is not installed (apt-get install oclgrind)" >&2; exit 2; }
[ -x "$recur" ] || { echo "oclgrind-check: $recur is not an executable (build first)" >&2; exit 2; }
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
export RECUR_CL_OPTIONS=-cl-opt-disable RECUR_CL_KEEP_BUFFERS=1 RECUR_NO_CACHE=1
status=0
for tuning in "matmul=simple,cells=scalar" "matmul=rb,RB_M=4,RB_V=2,KB=16,cells=v16" "matmul=tiled,TILE=8"; do
    ops=""
    [ "${tuning%%,*}" != "matmul=simple" ] && ops="--op matmul"   # the other variants change only matmul
    [ "${tuning%%,*}" = "matmul=rb" ] && ops="$ops --op conv1d_forward --op conv1d_backward_data --op conv1d_backward_weight"   # and stride-1 conv
    [ "${tuning##*,}" = "cells=v16" ] && ops="$ops --op lstm_forward --op lstm_backward --op gru_forward --op unary"   # and the cells
    if ! RECUR_TUNING=$tuning oclgrind --data-races --uninitialized --check-api "$recur" verify --device opencl:0 \
            --cases 8 $ops >"$log/out" 2>"$log/err"; then
        echo "oclgrind-check: $tuning: verify failed under oclgrind:"; grep -v "^recur:" "$log/err" | head -40
        grep -v "cases  identical" "$log/out" | head -20; status=1; continue
    fi
    reports=$(grep -cE "^(Invalid|Uninitiali[sz]ed|Read-write|Write-write|Read-read|Unsupported|Controlflow|Oclgrind|Work-group divergence|Kernel .* not found)" "$log/err" || true)
    if [ "$reports" != 0 ]; then
        echo "oclgrind-check: $tuning: $reports oclgrind reports:"; grep -v "^recur:" "$log/err" | head -60; status=1
    else
        echo "oclgrind-check: $tuning: $(grep -c "cases  identical" "$log/out") ops identical, 0 oclgrind reports"
    fi
done
exit $status
