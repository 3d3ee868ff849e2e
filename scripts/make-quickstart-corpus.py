#!/usr/bin/env python3
"""Builds the corpus bundled in data/corpus/ for the quickstart pipeline.

Sources (all from Debian packages; data/corpus/README.md states the licenses):
  - English: the Python 3.11 documentation sources (package python3.11-doc, PSF License v2):
    the tutorial, the HOWTOs, the FAQ and part of the library reference, one record per
    section.
  - Chinese, classical: the Tang 300 and Song 100 poem collections of package fortunes-zh;
    the poems themselves are 8th-13th century works in the public domain; only the poem
    text, title and author are kept.
  - Chinese, modern: the seed documents this project started from (../shared/seeds/).
  - Structured: enterprises.csv, synthetic company records (made up here, with a fixed
    seed) holding the kinds of personal data the cleaning stages must mask: e-mail
    addresses, phone numbers, Luhn-valid card numbers and checksum-valid resident IDs,
    plus exact and near duplicates for the deduplication stages.
Run on a Debian machine:  python3 scripts/make-quickstart-corpus.py [SEEDS_DIR]
It downloads the two packages with `apt-get download` into a temporary folder.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "corpus")
PYTHON_DOC_PARTS = ["tutorial", "howto", "faq", "library/stdtypes", "library/functions",
                    "library/re", "library/json", "library/csv", "library/pathlib",
                    "library/itertools", "library/collections", "library/datetime",
                    "library/unicodedata", "library/string", "library/os", "library/logging",
                    "library/argparse", "library/sqlite3", "library/asyncio-task",
                    "library/threading", "library/subprocess", "library/typing"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def unpack(packages, into):
    subprocess.run(["apt-get", "download", "-q"] + packages, cwd=into, check=True,
                   stdout=subprocess.DEVNULL)
    for name in os.listdir(into):
        if name.endswith(".deb"):
            subprocess.run(["dpkg", "-x", name, "root"], cwd=into, check=True)
    return os.path.join(into, "root")


def rst_sections(text):
    """Splits reStructuredText at section titles (a line underlined with = - ~ ^ *)."""
    lines = text.splitlines()
    sections, current = [], []
    for i, line in enumerate(lines):
        underline = i + 1 < len(lines) and re.fullmatch(r"([=\-~^*#])\1{3,}", lines[i + 1] or "")
        if underline and line.strip() and current:
            sections.append("\n".join(current).strip())
            current = []
        current.append(line)
    if current:
        sections.append("\n".join(current).strip())
    return [s for s in sections if len(s) > 200]


def python_docs(root):
    base = os.path.join(root, "usr/share/doc/python3.11/html/_sources")
    records = []
    for part in PYTHON_DOC_PARTS:
        path = os.path.join(base, part)
        files = []
        if os.path.isdir(path):
            for folder, _, names in os.walk(path):
                files += [os.path.join(folder, n) for n in names if n.endswith(".rst.txt")]
        elif os.path.exists(path + ".rst.txt"):
            files.append(path + ".rst.txt")
        for file in sorted(files):
            with open(file, encoding="utf-8") as f:
                for number, section in enumerate(rst_sections(f.read())):
                    rel = os.path.relpath(file, base)[: -len(".rst.txt")]
                    records.append({"text": section, "source": f"python-3.11-docs/{rel}#{number}"})
    return records


def poems(root):
    records = []
    for collection in ("tang300", "song100"):
        with open(os.path.join(root, "usr/share/games/fortunes", collection + ".u8"),
                  encoding="utf-8") as f:
            for number, entry in enumerate(f.read().split("\n%\n")):
                text = ANSI.sub("", entry).strip()
                if text:
                    records.append({"text": text, "source": f"{collection}#{number}"})
    return records


def seeds(folder):
    records = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            paragraphs = [p.strip() for p in re.split(r"\n\s*\n", f.read()) if p.strip()]
        for number, paragraph in enumerate(paragraphs):
            records.append({"text": paragraph, "source": f"seeds/{name}#{number}"})
    return records


def luhn_complete(digits):
    """Appends the Luhn check digit to a string of digits."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return digits + str((10 - total % 10) % 10)


def resident_id(rng):
    """A made-up 18-character resident ID with a valid ISO 7064 MOD 11-2 check character."""
    body = "110105" + f"{rng.randint(1960, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" + \
        f"{rng.randint(0, 999):03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]
    return body + check


def enterprises():
    import csv
    import random
    rng = random.Random(20261123)
    cities = ["北京", "上海", "深圳", "杭州", "成都", "Singapore", "Berlin", "Boston"]
    fields = ["人工智能", "新能源", "生物医药", "物流", "半导体", "software", "retail"]
    rows = []
    for number in range(300):
        name = f"{rng.choice(['华', '星', '远', '明', '泰'])}{rng.choice(['辰', '海', '达', '信', '科'])}科技有限公司 #{number}"
        card = luhn_complete("4" + "".join(str(rng.randint(0, 9)) for _ in range(14)))
        rows.append({
            "name": name,
            "city": rng.choice(cities),
            "founded": str(rng.randint(1995, 2024)),
            "field": rng.choice(fields),
            "contact": f"contact{number}@example.com",
            "phone": f"+86 1{rng.choice('3456789')}{rng.randint(0, 9)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
            "card": " ".join(card[i:i + 4] for i in range(0, 16, 4)),
            "legal_rep_id": resident_id(rng),
            "summary": f"主营{rng.choice(fields)}，员工约{rng.randint(10, 5000)}人。",
        })
    rows += [dict(rows[i]) for i in range(0, 30, 3)]  # exact duplicates
    for i in range(30, 40):  # near duplicates: one word changed
        near = dict(rows[i])
        near["summary"] = near["summary"].replace("员工约", "员工大约")
        rows.append(near)
    path = os.path.join(OUT, "enterprises.csv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)
    print(f"enterprises.csv: {len(rows)} rows, {os.path.getsize(path)} bytes")


def write(name, records):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{name}: {len(records)} records, {os.path.getsize(os.path.join(OUT, name))} bytes")


def main():
    seeds_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(OUT, "../../../shared/seeds")
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = unpack(["python3.11-doc", "fortunes-zh"], tmp)
        write("python-docs.jsonl", python_docs(root))
        write("poems-zh.jsonl", poems(root))
        license_src = os.path.join(root, "usr/share/doc/python3.11/html/_sources/license.rst.txt")
        with open(license_src, encoding="utf-8") as f, \
                open(os.path.join(OUT, "LICENSE-python-docs.txt"), "w", encoding="utf-8") as g:
            g.write(f.read())
    write("seeds-zh.jsonl", seeds(seeds_dir))
    enterprises()


if __name__ == "__main__":
    main()
