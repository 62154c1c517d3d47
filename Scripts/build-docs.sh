#!/usr/bin/env bash
# Builds the DocC documentation of the Recur library into .build-docs/Recur.doccarchive with the
# toolchain's own `docc` (no plugin dependency, so ordinary builds resolve nothing extra).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --target Recur --scratch-path .build-docs -Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc .build-docs/symbol-graphs
docc=$(dirname "$(readlink -f "$(command -v swift)")")/docc
"$docc" convert Sources/Recur/Recur.docc --additional-symbol-graph-dir .build-docs/symbol-graphs \
  --fallback-display-name Recur --fallback-bundle-identifier org.recur.Recur --output-path .build-docs/Recur.doccarchive "$@"
echo "documentation: .build-docs/Recur.doccarchive"
