#!/usr/bin/env bash
# On the developer machine: downloads the Debian packages the GPU machine lacks into
# .deps/debs (ignored by git), to be carried there and unpacked by device-setup.sh.
# The GPU machine has no network; see ../shared/design/DEVICE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps/debs
cd .deps/debs
packages=(
  libboost1.74-dev libboost-program-options1.74-dev libboost-program-options1.74.0
  libtbb-dev libtbb12 libtbbmalloc2 libtbbbind-2-5 libdlpack-dev nlohmann-json3-dev
  libutf8proc-dev libutf8proc2 libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
  libsentencepiece-dev libsentencepiece0
)
for package in "${packages[@]}"; do
  ls "${package}"_*.deb >/dev/null 2>&1 || apt-get download -q "$package"
done
ls -1 *.deb
