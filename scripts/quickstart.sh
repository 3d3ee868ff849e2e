#!/usr/bin/env bash
# Builds lmforge and runs the quickstart pipeline (configs/quickstart.json); each
# capability that lands adds its stage there. Extra arguments go to `lmforge run`
# (e.g. --set ...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh cpu -j "${LMF_JOBS:-$(nproc)}"
bash scripts/fetch-test-tokenizers.sh  # the Qwen2.5 tokenizer.json the tokenize stage uses
exec build/cpu/bin/lmforge run configs/quickstart.json "$@"
