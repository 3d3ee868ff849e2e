#!/usr/bin/env bash
# Training speed: lmforge's torch backend vs transformers (+ PEFT), same shapes, same GPU,
# same run (docs/benchmarks.md). On the GPU machine, after scripts/device-setup.sh built
# build/cuda with -DLMF_BUILD_BENCH=ON:
#   bash bench/run_train_bench.sh build/cuda [OUT_DIR] [MICRO_BATCH]
set -euo pipefail
build=${1:-build/cuda}
out=${2:-bench-results}
micro=${3:-4}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
run() {  # one process per measurement: each starts with an empty allocator
  "$build/bin/lmf_backend_train_bench" "$@" | tee -a "$out/train_lmforge.jsonl"
  (cd "$here/backend" && python3 hf_train_bench.py "$@") | tee -a "$out/train_transformers.jsonl"
}
run qwen1.5b full 2048 "$micro" 8
run llama8b lora 2048 1 8
python3 - "$out" <<'PY'
import json, sys
rows = {}
for name in ("train_lmforge.jsonl", "train_transformers.jsonl"):
    for line in open(f"{sys.argv[1]}/{name}"):
        r = json.loads(line)
        rows.setdefault((r["shape"], r["method"], r["micro_batch"]), {})["lmforge" if r["impl"] == "lmforge" else "hf"] = r
print(f"{'shape':9} {'method':6} {'batch':>5} {'lmforge tok/s':>14} {'hf tok/s':>9} {'speed-up':>9} {'MFU':>11} {'peak GiB':>15}")
for (shape, method, batch), r in sorted(rows.items()):
    l, h = r.get("lmforge", {}), r.get("hf", {})
    lt, ht = l.get("tokens_per_s", 0), h.get("tokens_per_s", 0)
    print(f"{shape:9} {method:6} {batch:5} {lt:14.0f} {ht:9.0f} {lt/ht if ht else 0:8.2f}x "
          f"{l.get('mfu', 0):5.3f}/{h.get('mfu', 0):5.3f} {l.get('peak_memory_gib', 0):7.1f}/{h.get('peak_memory_gib', 0):7.1f}")
PY
