#!/usr/bin/env bash
# CPU generation rate of the quickstart's pretrained model (issue 5): `lmforge generate`
# sampling (temperature 1, up to 256 new tokens) at batch 1 (seeds 1..RUNS) and batch 8
# (seeds 1..RUNS/5, rounded up); prints the tokens, seconds and tokens/s summed over the
# runs, as each run's summary line reports them (its model load included; each sequence
# stops at the model's end of text). Run `bash scripts/quickstart.sh` first.
#   bash bench/run_cpu_generate_bench.sh [RUNS 30] [MODEL runs/quickstart/pretrain/model]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
model=${2:-runs/quickstart/pretrain/model}
lmforge=build/cpu/bin/lmforge
rate() {  # sums "N tokens in S s" lines
  grep -E '^ *[0-9]+ prompts?, [0-9]+ tokens in ' |
    awk -v what="$1" '{t += $(NF-6); s += $(NF-3)} END {if (s > 0) printf "%s: %d tokens in %.2f s = %.1f tokens/s\n", what, t, s, t / s; else print what ": no summary line"}'
}
for seed in $(seq 1 "$runs"); do
  "$lmforge" generate "$model" -p "The Python documentation describes" -n 256 --temperature 1.0 --seed "$seed"
done | rate "batch 1"
batch=()
for i in 1 2 3 4 5 6 7 8; do batch+=(-p "The Python documentation describes $i"); done
for seed in $(seq 1 $(( (runs + 4) / 5 ))); do
  "$lmforge" generate "$model" "${batch[@]}" -n 256 --temperature 1.0 --seed "$seed"
done | rate "batch 8"
