#!/usr/bin/env bash
# The hf tokenizer's encode throughput side by side with Hugging Face tokenizers (Rust,
# through @anush008/tokenizers) on the same text and tokenizer.json files, in one run, one
# tokenizer after the other; then the hf tokenizer's scaling over threads. Prints Markdown
# tables (docs/benchmarks.md holds the results).
#
#   bash bench/run_tokenizer_bench.sh [build folder]
# The build folder (default: build/cpu, else build) is configured with -DLMF_BUILD_BENCH=ON
# and lmf_tokenizer_encode_bench and the plugin are built in it. LMF_BENCH_TOKENIZERS
# chooses tokenizers (default gpt2,qwen2_5,llama3_1,deepseek_v3).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-}
if [ -z "$build" ]; then
  if [ -f build/cpu/CMakeCache.txt ]; then build=build/cpu; else build=build; fi
fi
tokenizers=${LMF_BENCH_TOKENIZERS:-gpt2,qwen2_5,llama3_1,deepseek_v3}

bash scripts/fetch-test-tokenizers.sh
bash tests/fixtures/tokenizers/install_reference.sh >/dev/null
if [ -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DLMF_BUILD_BENCH=ON >/dev/null
else
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLMF_BUILD_BENCH=ON >/dev/null
fi
cmake --build "$build" --target lmf_tokenizer_encode_bench lmf_tokenizer_hf >/dev/null

# The raw results stay in LMF_BENCH_OUT when it is set.
if [ -n "${LMF_BENCH_OUT:-}" ]; then
  out=$LMF_BENCH_OUT
  mkdir -p "$out"
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
for name in ${tokenizers//,/ }; do
  LMF_BENCH_TOKENIZERS=$name "$build/bin/lmf_tokenizer_encode_bench" \
    --benchmark_filter="^encode/" --benchmark_format=json >"$out/lmforge-$name.json"
  RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false \
    node bench/tokenizer_encode_hf.mjs "$name" >"$out/hf-$name.jsonl"
done
LMF_BENCH_TOKENIZERS=$tokenizers "$build/bin/lmf_tokenizer_encode_bench" \
  --benchmark_filter="^scaling/" --benchmark_format=json >"$out/scaling.json"

node - "$out" "$tokenizers" <<'NODE'
const fs = require("fs");
const [dir, list] = process.argv.slice(2);
const names = list.split(",");
const cpu = (fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/) || [, "unknown"])[1];
const load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`Device: ${cpu} (${require("os").cpus().length} logical CPUs), load average ${load} at the end, ${new Date().toISOString().slice(0, 10)}\n`);
console.log("Single thread, MB of UTF-8 input per CPU second:\n");
console.log("| tokenizer | text | lmforge hf, MB/s | HF tokenizers, MB/s | speed-up | ids (lmforge / HF) |");
console.log("| --- | --- | ---: | ---: | ---: | --- |");
for (const name of names) {
  let ours, hf;
  try {
    ours = JSON.parse(fs.readFileSync(`${dir}/lmforge-${name}.json`, "utf8")).benchmarks;
    hf = fs.readFileSync(`${dir}/hf-${name}.jsonl`, "utf8").split("\n").filter(Boolean).map(JSON.parse);
  } catch { continue; }
  for (const h of hf) {
    const mode = h.text;
    // Google Benchmark appends the options to the name ("encode/gpt2/records/min_time:2.000").
    const o = ours.find((b) => b.name.startsWith(`encode/${name}/${mode}/`));
    if (!o) continue;
    const mbs = o.bytes_per_second / 1e6;
    const same = o.ids === h.ids ? "same" : "DIFFERENT";
    console.log(`| ${name} | ${mode} (${(o.input_bytes / 1e6).toFixed(2)} MB) | ${mbs.toFixed(1)} | ${h.mb_per_s.toFixed(1)} | ${(mbs / h.mb_per_s).toFixed(1)}x | ${o.ids} / ${h.ids} ${same} |`);
  }
}
const scaling = JSON.parse(fs.readFileSync(`${dir}/scaling.json`, "utf8")).benchmarks;
console.log("\nlmforge hf, records, several threads encoding at once on one instance (aggregate, wall time):\n");
console.log("| tokenizer | threads | MB/s |");
console.log("| --- | ---: | ---: |");
for (const b of scaling) {
  const [, name] = b.name.split("/");
  console.log(`| ${name} | ${b.threads} | ${(b.bytes_per_second / 1e6).toFixed(1)} |`);
}
NODE
