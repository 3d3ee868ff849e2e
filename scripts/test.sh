#!/usr/bin/env bash
# Builds everything and runs every test: the CPU build's whole suite, then the tests of
# core/ and the ABI again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${LMF_JOBS:-$(nproc)}
bash scripts/build.sh cpu -j "$jobs"
bash scripts/fetch-test-tokenizers.sh  # tokenizer.json files of the tokenizer conformance suite
ctest --preset cpu -j "$jobs"
bash scripts/build.sh asan -j "$jobs"
ctest --preset asan -j "$jobs"
