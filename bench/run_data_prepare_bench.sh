#!/usr/bin/env bash
# `lmforge data prepare` end to end: jsonl source → cleaning stages → hf tokenizer (Qwen2.5)
# → packed shards, on inputs of growing size, with 1 and 2 cleaning threads. For each run:
# wall and CPU time, throughput, peak RSS, and the highest RSS of the run's second half
# (the steady state, after the tokenizer's load; a growth with the input shows there).
# Prints Markdown tables (docs/benchmarks.md holds the results).
#
#   bash bench/run_data_prepare_bench.sh [build folder]
#
# The build folder (default: build/cpu, else build) gets lmforge and the two plugins built.
# The input is made by bench/data_prepare_corpus.mjs from data/corpus (deterministic; every
# copy of the corpus has other words, so deduplication keeps it). The pipeline file is
# bench/data_prepare.json; the runs set its input, threads, stages and output with --set.
#
#   LMF_BENCH_SIZES_MB             input sizes, MB of 10^6 bytes (default 10,100,1000)
#   LMF_BENCH_THREADS              the source's cleaning threads (default 1,2)
#   LMF_BENCH_NEAR_DEDUP_SIZES_MB  sizes also run with near_dedup added, with the most
#                                  threads (default 10,100; its memory grows by design)
#   LMF_BENCH_WORK                 where inputs and shards go (default: a temporary folder;
#                                  needs about 2.2 times the largest size)
#   LMF_BENCH_OUT                  keep the raw results there
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-}
if [ -z "$build" ]; then
  if [ -f build/cpu/CMakeCache.txt ]; then build=build/cpu; else build=build; fi
fi
sizes=${LMF_BENCH_SIZES_MB:-10,100,1000}
thread_counts=${LMF_BENCH_THREADS:-1,2}
near_sizes=${LMF_BENCH_NEAR_DEDUP_SIZES_MB:-10,100}
most_threads=$(tr ',' '\n' <<<"$thread_counts" | sort -n | tail -n 1)

if ! /usr/bin/time -f %M true >/dev/null 2>&1; then
  echo "run_data_prepare_bench: GNU time is needed for the peak RSS (Debian: apt-get install time)" >&2
  exit 1
fi
bash scripts/fetch-test-tokenizers.sh
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target lmforge lmf_data_corpus_plugin lmf_tokenizer_hf >/dev/null

if [ -n "${LMF_BENCH_WORK:-}" ]; then
  work=$LMF_BENCH_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d)
fi
if [ -n "${LMF_BENCH_OUT:-}" ]; then
  results=$LMF_BENCH_OUT
  mkdir -p "$results"
else
  results=$(mktemp -d)
fi
cleanup() {
  rm -rf "$work/input.jsonl" "$work/shards"
  [ -n "${LMF_BENCH_WORK:-}" ] || rm -rf "$work"
  [ -n "${LMF_BENCH_OUT:-}" ] || rm -rf "$results"
}
trap cleanup EXIT

# The quickstart's cleaning stages. near_dedup keeps a signature per kept record (about
# 1.2 KB, docs/data.md), so it runs apart, on the sizes of LMF_BENCH_NEAR_DEDUP_SIZES_MB.
streaming_stages='[{"stage":"unicode_normalize","form":"NFKC"},"control_chars","whitespace","url_strip","pii_mask",{"stage":"quality_filter","min_chars":20,"max_symbol_word_ratio":1.0},"exact_dedup"]'
near_dedup_stages=${streaming_stages%]}',{"stage":"near_dedup","threshold":0.8}]'

# VmRSS of the child of process $1 (lmforge under GNU time), "seconds kB" every 0.2 s.
sample_rss() {
  local child=""
  while [ -z "$child" ] && kill -0 "$1" 2>/dev/null; do child=$(pgrep -P "$1" || true); done
  local rss
  while [ -n "$child" ] && rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$child/status" 2>/dev/null) &&
    [ -n "$rss" ]; do
    echo "$EPOCHREALTIME $rss"
    sleep 0.2
  done
}

# run_case TAG STAGES THREADS: data prepare of $work/input.jsonl into $work/shards.
run_case() {
  local tag=$1 stages=$2 threads=$3
  echo "run_data_prepare_bench: $tag" >&2
  rm -rf "$work/shards"
  /usr/bin/time -f '%e %U %S %M' -o "$results/$tag.time" \
    "$build/bin/lmforge" data prepare bench/data_prepare.json \
    --set "stages.0.params.source.config.inputs=[\"$work/input.jsonl\"]" \
    --set "stages.0.params.source.config.threads=$threads" \
    --set "stages.0.params.source.config.stages=$stages" \
    --set "stages.0.params.output=$work/shards" >"$results/$tag.log" 2>&1 &
  local timer=$!
  sample_rss "$timer" >"$results/$tag.rss"
  if ! wait "$timer"; then
    echo "run_data_prepare_bench: $tag failed:" >&2
    tail -n 20 "$results/$tag.log" >&2
    exit 1
  fi
  cp "$work/shards/manifest.json" "$results/$tag.manifest.json"
  stat -c %s "$work/input.jsonl" >"$results/$tag.input_bytes"
}

uptime >"$results/load-start"
# The fixed cost: loading the plugins and the tokenizer, for a one-record input.
head -n 1 data/corpus/python-docs.jsonl >"$work/input.jsonl"
run_case "startup~0~1" "$streaming_stages" 1
for mb in ${sizes//,/ }; do
  node bench/data_prepare_corpus.mjs "$work/input.jsonl" $((mb * 1000000)) >/dev/null
  for threads in ${thread_counts//,/ }; do
    run_case "streaming~$mb~$threads" "$streaming_stages" "$threads"
  done
  if [[ ",$near_sizes," == *",$mb,"* ]]; then
    run_case "near_dedup~$mb~$most_threads" "$near_dedup_stages" "$most_threads"
  fi
done
uptime >"$results/load-end"

node - "$results" <<'NODE'
const fs = require("fs");
const dir = process.argv[2];
const cpu = (fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) || [, "unknown"])[1];
const load = (file) => fs.readFileSync(`${dir}/${file}`, "utf8").match(/load average: (.*)/)[1].trim();
console.log(`Device: ${cpu} (${require("os").cpus().length} logical CPUs), ${new Date().toISOString().slice(0, 10)}, load average ${load("load-start")} at the start, ${load("load-end")} at the end\n`);

const runs = fs.readdirSync(dir).filter((f) => f.endsWith(".time")).map((f) => {
  const tag = f.slice(0, -5);
  const [config, mb, threads] = tag.split("~");
  const [wall, user, sys, peakKb] = fs.readFileSync(`${dir}/${f}`, "utf8").trim().split("\n").pop().split(" ").map(Number);
  const manifest = JSON.parse(fs.readFileSync(`${dir}/${tag}.manifest.json`, "utf8"));
  const inputBytes = Number(fs.readFileSync(`${dir}/${tag}.input_bytes`, "utf8"));
  // The steady state: the highest RSS sampled in the second half of the run.
  const samples = fs.readFileSync(`${dir}/${tag}.rss`, "utf8").trim().split("\n").filter(Boolean).map((l) => l.split(" ").map(Number));
  const first = samples.length ? samples[0][0] : 0, last = samples.length ? samples[samples.length - 1][0] : 0;
  const late = samples.filter(([t]) => t >= (first + last) / 2).map(([, kb]) => kb);
  const tokens = Object.values(manifest.splits).reduce((n, s) => n + s.shards.reduce((m, x) => m + x.tokens, 0), 0);
  return { config, mb: Number(mb), threads: Number(threads), wall, cpu: user + sys, peakKb,
           steadyKb: late.length ? Math.max(...late) : NaN, inputBytes, tokens,
           recordsIn: manifest.report.records_in, recordsOut: manifest.report.records_out };
}).sort((a, b) => a.config.localeCompare(b.config) || a.mb - b.mb || a.threads - b.threads);

// MB per CPU-second with the startup run's CPU time taken off: the streaming throughput.
const startupCpu = (runs.find((r) => r.config === "startup") || { cpu: 0 }).cpu;
const mbOf = (kb) => (kb / 1024).toFixed(0);
const header = "| input | threads | records in / out | tokens | wall, s | CPU, s | MB/s | MB per CPU-s | same, startup excluded | peak RSS, MiB | RSS, 2nd half, MiB |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";
const row = (r) => `| ${(r.inputBytes / 1e6).toFixed(r.inputBytes < 1e6 ? 3 : 1)} MB | ${r.threads} | ${r.recordsIn} / ${r.recordsOut} | ${r.tokens} | ${r.wall.toFixed(1)} | ${r.cpu.toFixed(1)} | ${(r.inputBytes / 1e6 / r.wall).toFixed(1)} | ${(r.inputBytes / 1e6 / r.cpu).toFixed(1)} | ${r.config === "startup" ? "" : (r.inputBytes / 1e6 / (r.cpu - startupCpu)).toFixed(1)} | ${mbOf(r.peakKb)} | ${mbOf(r.steadyKb)} |`;
const table = (title, config) => {
  const rows = runs.filter((r) => r.config === config);
  if (!rows.length) return;
  console.log(`${title}\n\n${header}`);
  for (const r of rows) console.log(row(r));
  console.log("");
};
table("Startup (one record: loading the plugins and the tokenizer):", "startup");
table("Cleaning stages of the quickstart without near_dedup (NFKC, control_chars, whitespace, url_strip, pii_mask, quality_filter, exact_dedup):", "streaming");
table("The same with near_dedup (threshold 0.8) added:", "near_dedup");
NODE
