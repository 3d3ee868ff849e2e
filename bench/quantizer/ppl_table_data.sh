#!/usr/bin/env bash
# The data of the 4-bit perplexity table (docs/quantization.md, "Quality"), made on a Debian
# machine with a CPU build (scripts/build.sh cpu): the corpus (ppl_table_corpus.py: the
# Python 3.11 documentation and standard library, whole files held out), a 32,000-token
# byte-level BPE tokenizer learned from the training documents, and both splits tokenized
# into shards (ppl_table_data.json). Everything the GPU machine needs lands in .ppl100m/
# (about 11 MB, git-ignored through .git/info/exclude), which travels there with .deps:
#   bash bench/quantizer/ppl_table_data.sh [BUILD_DIR]     (default build/cpu)
# then, on the GPU machine: bash bench/run_ppl_table.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/cpu}
for need in "$build/bin/lmforge" "$build/lib/lmforge/plugins/liblmf_tokenizer_hf.so" \
            "$build/lib/lmforge/plugins/liblmf_data_corpus.so"; do
  [ -e "$need" ] || { echo "ppl_table_data: $need is missing: build lmforge first (bash scripts/build.sh cpu)" >&2; exit 1; }
done
if [ ! -d /usr/share/doc/python3.11/html/_sources ]; then
  apt-get install -y -q python3.11-doc > /dev/null
fi
python3 bench/quantizer/ppl_table_corpus.py runs/ppl100m-data/corpus
"$build/bin/lmforge" run bench/quantizer/ppl_table_data.json
# The GPU machine's build leaves the hf tokenizer plugin out (scripts/device-setup.sh is
# run with -DLMF_SKIP_PLUGINS=tokenizer/hf), but a new model's init and the evaluations read
# the tokenizer through it: this machine's build travels, without its debug sections. It
# needs libpcre2-8 and libutf8proc, which .deps carries.
mkdir -p .ppl100m/plugins
strip --strip-unneeded -o .ppl100m/plugins/liblmf_tokenizer_hf.so "$build/lib/lmforge/plugins/liblmf_tokenizer_hf.so"
du -sh .ppl100m
