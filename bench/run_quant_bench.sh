#!/usr/bin/env bash
# Quantized models in the torch backend (docs/benchmarks.md, issue 7), on the GPU machine
# after scripts/device-setup.sh built build/cuda with -DLMF_BUILD_BENCH=ON (targets
# lmf_backend_decode_bench, lmf_backend_train_bench and the rtn and nf4 plugins):
#   bash bench/run_quant_bench.sh build/cuda [OUT_DIR]
# - int4 decode end to end: every projection a 4-bit group-128 GPTQ-layout layer computed
#   by the rtn plugin's CUDA kernels (Note [Packed weights]), beside the bf16 decode of
#   the same shape in the same run;
# - QLoRA on the Qwen2-7B shape: NF4 base quantized on load, LoRA r=16, seq 512, micro-batch
#   1, activation checkpointing: peak memory and tokens/s.
set -euo pipefail
build=${1:-build/cuda}
out=${2:-bench-results}
plugins="$build/lib/lmforge/plugins"
mkdir -p "$out"
for shape in llama8b qwen1.5b; do
  "$build/bin/lmf_backend_decode_bench" "$shape" 1 | tee -a "$out/quant_decode.jsonl"
  LMF_BENCH_INT4="$plugins/liblmf_quantizer_rtn.so" "$build/bin/lmf_backend_decode_bench" "$shape" 1 |
    tee -a "$out/quant_decode.jsonl"
done
LMF_BENCH_NF4="$plugins/liblmf_quantizer_nf4.so" "$build/bin/lmf_backend_train_bench" qwen7b qlora 512 1 6 1 |
  tee -a "$out/quant_qlora.jsonl"
