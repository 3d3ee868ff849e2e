#!/usr/bin/env bash
# The 4-bit perplexity table of docs/quantization.md ("Quality", issue 7) on the GPU machine:
# a 109.5M-parameter Llama-architecture model pretrained from scratch by lmforge, then
# quantized by rtn, gptq and awq (4 bits, groups of 128), each evaluated on held-out
# documents (bench/quantizer/ppl_table.json). First, on a Debian machine with a CPU build:
#   bash bench/quantizer/ppl_table_data.sh          # the corpus, tokenizer and shards -> .ppl100m/
# then on the GPU machine, with .deps and .ppl100m carried there:
#   bash bench/run_ppl_table.sh [OUT_DIR]            # default runs/ppl100m-results
# It configures build/cuda if it is not (scripts/device-setup.sh), builds what the pipeline
# loads, runs it with the run's metrics and summary in OUT_DIR/run, and prints the table.
# LMF_PPL_DEADLINE_S=N asks the pipeline to stop N seconds after this script started (the
# stage under way ends cancelled, summary.json is still written): the table shows what ended.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/ppl100m-results}
start=$(date +%s)
mkdir -p "$out"
if [ ! -f .ppl100m/shards-train/manifest.json ] || [ ! -f .ppl100m/plugins/liblmf_tokenizer_hf.so ]; then
  echo "run_ppl_table: .ppl100m/ is incomplete: run bench/quantizer/ppl_table_data.sh on a Debian machine and carry .ppl100m here" >&2
  exit 1
fi
if [ ! -f build/cuda/CMakeCache.txt ]; then
  bash scripts/device-setup.sh -DLMF_SKIP_PLUGINS=tokenizer/hf -DLMF_BUILD_BENCH=ON > "$out/configure.log" 2>&1 ||
    { tail -40 "$out/configure.log"; exit 1; }
fi
cmake --build build/cuda -j16 --target lmforge lmf_backend_torch lmf_quantizer_rtn lmf_quantizer_gptq \
  lmf_quantizer_awq > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
echo "configured and built in $(( $(date +%s) - start )) s"

export LD_LIBRARY_PATH="/opt/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
# The hf tokenizer plugin that ppl_table_data.sh put there: this build leaves it out.
export LMFORGE_PLUGIN_PATH=".ppl100m/plugins"
limit=()
if [ "${LMF_PPL_DEADLINE_S:-0}" -gt 0 ]; then
  limit=(timeout -s INT -k 30 "$(( LMF_PPL_DEADLINE_S - ($(date +%s) - start) ))")
fi
status=0
TERM=dumb "${limit[@]}" build/cuda/bin/lmforge run bench/quantizer/ppl_table.json --set "run.output_dir=$out/run" \
  > "$out/pipeline.log" 2>&1 || status=$?
grep -v '^\[lmforge\] progress ' "$out/pipeline.log" | grep -v '^\[lmforge\] info lmforge-quantizer-' | tail -60 || true
echo
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || true
date -u
python3 bench/quantizer/ppl_table_report.py "$out/run"
exit $status
