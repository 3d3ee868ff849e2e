#!/usr/bin/env python3
"""Encode throughput of Hugging Face tokenizers' Python package on the texts of
bench/tokenizer_encode_bench.cpp: the Python twin of tokenizer_encode_hf.mjs, for machines
that have the package (the GPU machine). One JSON object per line, as the Node script.

    RAYON_NUM_THREADS=1 python3 bench/tokenizer_encode_hf.py gpt2 qwen2_5 ...   # one thread
    python3 bench/tokenizer_encode_hf.py --threads gpt2 ...   # encode_batch on every core
"""
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = pathlib.Path(os.environ.get("LMF_TOKENIZER_CACHE", ROOT / ".cache/tokenizers"))
MIN_SECONDS = float(os.environ.get("LMF_BENCH_MIN_SECONDS", "2"))


def jsonl_texts(path, skip_hashed):
    if not path.exists():
        return []
    texts = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line:
            continue
        entry = json.loads(line)
        if isinstance(entry.get("text"), str) and not (skip_hashed and entry.get("hash_only")):
            texts.append(entry["text"])
    return texts


def bench_texts():
    out = []
    records = [t for f in ("python-docs.jsonl", "poems-zh.jsonl", "seeds-zh.jsonl")
               for t in jsonl_texts(ROOT / "data/corpus" / f, False)]
    if records:
        out.append(("records", records))
        out.append(("document", ["\n".join(records)]))
    lines = jsonl_texts(ROOT / "tests/fixtures/tokenizers/corpus.jsonl", True)
    mixed, size = [], 0
    while size < 1000000:
        for text in lines:
            mixed.append(text)
            size += len(text.encode("utf-8"))
    out.append(("mixed", mixed))
    return out


def measure(run, size, cpu_time):
    clock = time.process_time if cpu_time else time.perf_counter
    ids = run()
    iterations, start = 0, clock()
    wall = time.perf_counter()
    while time.perf_counter() - wall < MIN_SECONDS or iterations < 3:
        ids = run()
        iterations += 1
    seconds = clock() - start
    return {"mb_per_s": size * iterations / seconds / 1e6, "ids": ids, "iterations": iterations}


def main():
    from tokenizers import Tokenizer
    threads = "--threads" in sys.argv
    names = [a for a in sys.argv[1:] if not a.startswith("--")]
    for name in names:
        tok = Tokenizer.from_file(str(CACHE / name / "tokenizer.json"))
        for text_name, texts in bench_texts():
            size = sum(len(t.encode("utf-8")) for t in texts)
            if len(texts) == 1 and not threads:
                run = lambda: len(tok.encode(texts[0], add_special_tokens=False).ids)
            else:
                run = lambda: sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
            result = measure(run, size, cpu_time=not threads)
            print(json.dumps({"tokenizer": name, "text": text_name, **result, "input_bytes": size}), flush=True)


if __name__ == "__main__":
    main()
