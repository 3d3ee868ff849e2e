// Encode throughput of Hugging Face tokenizers (the Rust library, through its Node binding
// @anush008/tokenizers) on the texts of bench/tokenizer_encode_bench.cpp, for
// bench/run_tokenizer_bench.sh. Run it with RAYON_NUM_THREADS=1 and
// TOKENIZERS_PARALLELISM=false for one thread (the script does).
//   node bench/tokenizer_encode_hf.mjs <tokenizer name>...   -> one JSON object per line
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cache = process.env.LMF_TOKENIZER_CACHE ?? path.join(root, ".cache/tokenizers");
const require = createRequire(import.meta.url);
const { Tokenizer } = require(path.join(root, ".cache/tokenizer-reference/node_modules/@anush008/tokenizers"));
const minSeconds = Number(process.env.LMF_BENCH_MIN_SECONDS ?? 2);

// The same texts as tokenizer_encode_bench.cpp's bench_texts().
function jsonlTexts(file, skipHashed) {
  if (!existsSync(file)) return [];
  const texts = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const entry = JSON.parse(line);
    if (typeof entry.text === "string" && !(skipHashed && entry.hash_only)) texts.push(entry.text);
  }
  return texts;
}
const bytesOf = (texts) => texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
const benchTexts = [];
const records = ["python-docs.jsonl", "poems-zh.jsonl", "seeds-zh.jsonl"].flatMap((f) => jsonlTexts(path.join(root, "data/corpus", f), false));
if (records.length) {
  benchTexts.push({ name: "records", texts: records });
  benchTexts.push({ name: "document", texts: [records.join("\n")] });
}
const lines = jsonlTexts(path.join(root, "tests/fixtures/tokenizers/corpus.jsonl"), true);
const mixed = [];
let mixedBytes = 0;
while (mixedBytes < 1000000) for (const text of lines) mixed.push(text), (mixedBytes += Buffer.byteLength(text));
benchTexts.push({ name: "mixed", texts: mixed });

// MB per CPU second of the process (the encoding runs on one libuv worker thread; the
// main thread waits), as Google Benchmark's bytes_per_second counts CPU time of the
// benchmark thread: on a shared machine, time spent descheduled counts for neither.
async function measure(run, bytes) {
  let ids = await run();  // warm up: the BPE cache, as the C++ benchmark's first iterations do
  let iterations = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  let seconds = 0;
  while (seconds < minSeconds || iterations < 3) {
    ids = await run();
    ++iterations;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    mb_per_s: (bytes * iterations) / cpuSeconds / 1e6,
    mb_per_wall_s: (bytes * iterations) / seconds / 1e6,
    ids,
    iterations,
  };
}

for (const name of process.argv.slice(2)) {
  const file = path.join(cache, name, "tokenizer.json");
  if (!existsSync(file)) continue;
  const tokenizer = Tokenizer.fromFile(file);
  const options = { addSpecialTokens: false };
  for (const text of benchTexts) {
    // One call per text set, as the C++ benchmark makes one encode call: encodeBatch (one
    // thread with RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false), or encode for one text.
    const run = text.texts.length === 1
      ? async () => (await tokenizer.encode(text.texts[0], null, options)).getLength()
      : async () => (await tokenizer.encodeBatch(text.texts, options)).reduce((n, e) => n + e.getLength(), 0);
    const result = await measure(run, bytesOf(text.texts));
    console.log(JSON.stringify({ tokenizer: name, text: text.name, ...result, input_bytes: bytesOf(text.texts) }));
  }
}
