#!/usr/bin/env python3
"""Writes the text corpus of the 4-bit perplexity table (docs/quantization.md, "Quality").

Real English text from Debian packages, read where they install it (nothing is copied into
the repository), both under the PSF License Version 2:
  - the Python 3.11 documentation's reStructuredText sources (package python3.11-doc),
    /usr/share/doc/python3.11/html/_sources/**/*.rst.txt;
  - the Python 3.11 standard library's sources (packages libpython3.11-minimal and
    libpython3.11-stdlib), /usr/lib/python3.11/**/*.py, without the test suites, the codec
    tables of encodings/ and pydoc_data/ (pydoc's topics are the documentation's own text,
    which would put held-out paragraphs in the training split).

One record per file: a held-out document is a whole file. A file is held out when the
SHA-256 of its path (relative to its root, prefixed by the root's name) is 0 modulo 20,
about 5% of each source, the same on every machine.

    python3 bench/quantizer/ppl_table_corpus.py OUT_DIR
writes OUT_DIR/train.jsonl, OUT_DIR/heldout.jsonl ({"text", "source"} per line) and
OUT_DIR/heldout.txt (the held-out files).
"""
import hashlib
import json
import os
import sys

# (label, Debian package, root, file suffix)
DOCS = ("python3.11-doc", "python3.11-doc", "/usr/share/doc/python3.11/html/_sources", ".rst.txt")
STDLIB = ("python3.11-stdlib", "libpython3.11-stdlib", "/usr/lib/python3.11", ".py")
STDLIB_SKIPPED = {"test", "tests", "idle_test", "site-packages", "dist-packages", "encodings",
                  "pydoc_data", "__pycache__", "config-3.11-x86_64-linux-gnu", "lib-dynload"}
HELD_OUT_MODULUS = 20


def files(root, suffix, skipped=frozenset()):
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in skipped)
        for name in sorted(names):
            if name.endswith(suffix):
                yield os.path.join(folder, name)


def held_out(key):
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % HELD_OUT_MODULUS == 0


def main(out):
    os.makedirs(out, exist_ok=True)
    counts = {"train": [0, 0], "heldout": [0, 0]}
    with open(os.path.join(out, "train.jsonl"), "w", encoding="utf-8") as train, \
         open(os.path.join(out, "heldout.jsonl"), "w", encoding="utf-8") as heldout, \
         open(os.path.join(out, "heldout.txt"), "w", encoding="utf-8") as listing:
        for name, package, root, suffix in (DOCS, STDLIB):
            if not os.path.isdir(root):
                sys.exit(f"{root} is missing: install the Debian package {package}")
            for path in files(root, suffix, STDLIB_SKIPPED if root == STDLIB[2] else frozenset()):
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read().strip()
                if not text:
                    continue
                key = name + "/" + os.path.relpath(path, root)
                split = "heldout" if held_out(key) else "train"
                (heldout if split == "heldout" else train).write(
                    json.dumps({"text": text, "source": key}, ensure_ascii=False) + "\n")
                if split == "heldout":
                    listing.write(key + "\n")
                counts[split][0] += 1
                counts[split][1] += len(text.encode())
    for split, (documents, size) in counts.items():
        print(f"{split}: {documents} documents, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
