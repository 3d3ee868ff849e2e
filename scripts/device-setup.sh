#!/usr/bin/env bash
# On the GPU machine: unpacks the carried packages into /opt/deps (never into /) and
# configures the cuda preset against them and the machine's libtorch.
#   bash scripts/device-setup.sh [extra cmake arguments]   (then: cmake --build --preset cuda -j16)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p /opt/deps
for deb in .deps/debs/*.deb; do dpkg -x "$deb" /opt/deps; done
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
export LMF_PREFIX_PATH="/opt/deps/usr;/opt/deps/usr/lib/x86_64-linux-gnu/cmake;${torch_prefix}"
export LD_LIBRARY_PATH="/opt/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
cmake --preset cuda -DBoost_ROOT=/opt/deps/usr -DBoost_NO_SYSTEM_PATHS=ON \
  -DCMAKE_INCLUDE_PATH=/opt/deps/usr/include -DCMAKE_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu \
  "$@"
