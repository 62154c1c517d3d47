#!/usr/bin/env bash
# Fuzzes the checkpoint reader and the data parsers with libFuzzer for N seconds (default 30).
#   bash Scripts/fuzz.sh [seconds]
# Builds Tests/Fuzz with -sanitize=fuzzer into .build/fuzz, starts from Tests/Fuzz/corpus (copied,
# so the committed seeds stay as they are) and fails on any crash, trap, leak of time (>10 s per
# input) or memory (>4 GiB). A crashing input is kept in .build/fuzz/artifacts/ and named in the output;
# replay it with `swift run recur-fuzz FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
swift build --scratch-path .build/fuzz --product recur-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DRECUR_FUZZING 2>&1 | grep -v "^\[" || true
bin=.build/fuzz/debug/recur-fuzz
[ -x "$bin" ] || { echo "fuzz: build failed" >&2; exit 1; }
work=.build/fuzz/corpus
mkdir -p "$work" .build/fuzz/artifacts
cp -n Tests/Fuzz/corpus/* "$work"/
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix=.build/fuzz/artifacts/ "$work" > .build/fuzz/last.log 2>&1 || {
    echo "fuzz: FAILED; the end of the log (.build/fuzz/last.log):"; tail -40 .build/fuzz/last.log; exit 1; }
runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" .build/fuzz/last.log | grep -o "[0-9]*$" || echo "?")
echo "fuzz: $runs inputs in ${seconds}s, no crash (corpus in $work)"
