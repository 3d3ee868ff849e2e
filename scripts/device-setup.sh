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
# The machine's g++ (/opt/gcc/bin/g++, a wrapper) links libstdc++ statically, while
# libtorch loads the system's libstdc++.so.6: two copies in one process, and executables
# that link libtorch crashed in std::filesystem calls (every test that wrote a temporary
# folder). Naming the shared library first makes the linker resolve against it, in
# executables and in plugins alike.
shared_libstdcxx="-Wl,--no-as-needed /usr/lib/x86_64-linux-gnu/libstdc++.so.6 -Wl,--as-needed"
cmake --preset cuda -DBoost_ROOT=/opt/deps/usr -DBoost_NO_SYSTEM_PATHS=ON \
  -DCMAKE_INCLUDE_PATH=/opt/deps/usr/include -DCMAKE_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu \
  "-DCMAKE_EXE_LINKER_FLAGS=$shared_libstdcxx" "-DCMAKE_SHARED_LINKER_FLAGS=$shared_libstdcxx" \
  "-DCMAKE_MODULE_LINKER_FLAGS=$shared_libstdcxx" \
  "$@"
