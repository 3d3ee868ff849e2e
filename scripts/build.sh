#!/usr/bin/env bash
# Configures and builds one preset (default: cpu). Incremental; ccache when present.
#   bash scripts/build.sh [cpu|asan|cuda] [cmake --build arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-cpu}
shift || true
bash scripts/install-deps.sh
if [ ! -f "build/$preset/CMakeCache.txt" ]; then
  cmake --preset "$preset" >/dev/null
fi
cmake --build --preset "$preset" "$@"
