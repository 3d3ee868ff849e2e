// The input of bench/run_data_prepare_bench.sh: a jsonl corpus of any size, made
// deterministically from the bundled corpus (data/corpus/*.jsonl: English technical prose,
// classical and modern Chinese), so that data prepare's cleaning, deduplication and
// tokenizer work on text like the real one.
//
//   node bench/data_prepare_corpus.mjs OUTPUT.jsonl BYTES
//
// Copy 0 is the corpus itself. Every later copy replaces each word (a run of ASCII
// letters) and each Han character by another one of about the same frequency: the corpus's
// words are ranked by count, and copy k shuffles every block of kBlock consecutive ranks
// with a PRNG seeded by (k, block). A copy keeps the records' lengths, scripts, markup,
// URLs and e-mail addresses, but two copies share a 5-word shingle with probability about
// (1/kBlock)^5, so exact_dedup and near_dedup keep them (the corpus's own duplicates stay
// duplicates in every copy and are dropped each time, as in copy 0). Records are written
// whole until the next one would pass BYTES; each is {"text": ..., "source": ...}.
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const kBlock = 16;
const kTokenPattern = /[A-Za-z]+|\p{Script=Han}/gu;

const [output, bytesArgument] = process.argv.slice(2);
const targetBytes = Number(bytesArgument);
if (!output || !Number.isSafeInteger(targetBytes) || targetBytes <= 0) {
  console.error("usage: node bench/data_prepare_corpus.mjs OUTPUT.jsonl BYTES");
  process.exit(2);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const corpusDir = path.join(root, "data/corpus");
const records = readdirSync(corpusDir)
  .filter((name) => name.endsWith(".jsonl"))
  .sort()
  .flatMap((name) =>
    readFileSync(path.join(corpusDir, name), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line)),
  );

// Each record as its pieces: the text between tokens (kept) and the tokens (as vocabulary
// ranks, replaced per copy). Words and Han characters are ranked apart, so that a copy
// keeps each record's scripts.
const counts = new Map();
for (const { text } of records)
  for (const [token] of text.matchAll(kTokenPattern)) counts.set(token, (counts.get(token) ?? 0) + 1);
const isWord = (token) => /^[A-Za-z]/.test(token);
const byCount = (a, b) => counts.get(b) - counts.get(a) || (a < b ? -1 : 1);
const words = [...counts.keys()].filter(isWord).sort(byCount);
const han = [...counts.keys()].filter((token) => !isWord(token)).sort(byCount);
const vocabulary = [...words, ...han];
const classes = [
  [0, words.length],
  [words.length, vocabulary.length],
];
const rankOf = new Map(vocabulary.map((token, rank) => [token, rank]));
const pieces = records.map(({ text }) => {
  const between = [];
  const ranks = [];
  let at = 0;
  for (const match of text.matchAll(kTokenPattern)) {
    between.push(text.slice(at, match.index));
    ranks.push(rankOf.get(match[0]));
    at = match.index + match[0].length;
  }
  between.push(text.slice(at));
  return { between, ranks };
});

// mulberry32: a small, fixed PRNG, the same on every machine and Node version.
function prng(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Copy k's replacement for every rank: a Fisher-Yates shuffle within each block of ranks.
function replacementsFor(copy) {
  const replacement = vocabulary.slice();
  if (copy === 0) return replacement;
  for (const [first, last] of classes)
    for (let start = first; start < last; start += kBlock) {
      const end = Math.min(start + kBlock, last);
      const random = prng(Math.imul(copy, 0x9e3779b1) ^ start);
      for (let i = end - 1; i > start; --i) {
        const j = start + Math.floor(random() * (i - start + 1));
        [replacement[i], replacement[j]] = [replacement[j], replacement[i]];
      }
    }
  return replacement;
}

const out = openSync(output, "w");
let written = 0;
let pending = [];
let pendingBytes = 0;
const flush = () => {
  writeSync(out, pending.join(""));
  pending = [];
  pendingBytes = 0;
};
fill: for (let copy = 0; ; ++copy) {
  const replacement = replacementsFor(copy);
  for (let r = 0; r < records.length; ++r) {
    const { between, ranks } = pieces[r];
    let text = between[0];
    for (let i = 0; i < ranks.length; ++i) text += replacement[ranks[i]] + between[i + 1];
    const source = `${records[r].source ?? r}~${copy}`;
    const line = JSON.stringify({ text, source }) + "\n";
    const size = Buffer.byteLength(line);
    if (written + size > targetBytes) break fill;
    pending.push(line);
    written += size;
    pendingBytes += size;
    if (pendingBytes >= 1 << 22) flush();
  }
}
flush();
closeSync(out);
console.log(JSON.stringify({ output, bytes: written }));
