#!/usr/bin/env bash
# Generation speed: lmforge's torch backend vs transformers, same shapes, same GPU, same
# run (docs/benchmarks.md). On the GPU machine, after scripts/device-setup.sh built
# build/cuda with -DLMF_BUILD_BENCH=ON:
#   bash bench/run_backend_bench.sh build/cuda [OUT_DIR]
set -euo pipefail
build=${1:-build/cuda}
out=${2:-bench-results}
mkdir -p "$out"
for shape in qwen1.5b llama8b; do
  "$build/bin/lmf_backend_decode_bench" "$shape" 1 32 | tee -a "$out/backend_lmforge.jsonl"
  LMF_BENCH_EAGER=1 "$build/bin/lmf_backend_decode_bench" "$shape" 1 | tee -a "$out/backend_lmforge_eager.jsonl"
  python3 "$(dirname "$0")/backend/hf_decode_bench.py" "$shape" 1 32 | tee -a "$out/backend_transformers.jsonl"
done
python3 - "$out" <<'PY'
import json, sys
rows = {}
for name in ("backend_lmforge.jsonl", "backend_lmforge_eager.jsonl", "backend_transformers.jsonl"):
    for line in open(f"{sys.argv[1]}/{name}"):
        r = json.loads(line)
        rows.setdefault((r["shape"], r["test"], r["batch"]), {})[r["impl"]] = r
print(f"{'shape':9} {'test':8} {'batch':>5} {'lmforge tok/s':>14} {'eager tok/s':>12} {'transformers tok/s':>19} {'speed-up':>9} {'ms/step':>8} {'roofline':>9}")
for (shape, test, batch), r in sorted(rows.items()):
    l, h, e = r.get("lmforge", {}), r.get("transformers", {}), r.get("lmforge-eager", {})
    lt, ht = l.get("tokens_per_s", 0), h.get("tokens_per_s", 0)
    roof = f"{l['roofline_fraction']*100:.0f}%" if "roofline_fraction" in l else ""
    ms = f"{l['ms_per_step']:.2f}" if "ms_per_step" in l else ""
    print(f"{shape:9} {test:8} {batch:5} {lt:14.1f} {e.get('tokens_per_s', 0):12.1f} {ht:19.1f} {lt/ht if ht else 0:8.2f}x {ms:>8} {roof:>9}")
PY
