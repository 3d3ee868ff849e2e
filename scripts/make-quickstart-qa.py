#!/usr/bin/env python3
"""Builds the question-and-answer set bundled in data/qa/ for the quickstart's supervised
fine-tuning, from the synthetic company records data/corpus/enterprises.csv.

Each company (the first row of each name: the CSV plants duplicates) gets one question per
fact: the city it is in, the year it was founded, its field and, from the summary, about how
many employees it has. A question is asked in Chinese or in English, alternating by company
and fact, so both languages cover every fact. Answers are short and hold no personal data:
the CSV's e-mail, phone, card and ID columns are never read, and every answer is checked
against patterns of them before anything is written.

A fixed 5% of the records (chosen with a seeded random generator) go to the held-out file,
the rest to the training file. Standard library only; deterministic: running it again
writes the same bytes.
Run:  python3 scripts/make-quickstart-qa.py
"""
import csv
import json
import os
import random
import re

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
RECORDS = os.path.join(ROOT, "data", "corpus", "enterprises.csv")
OUT = os.path.join(ROOT, "data", "qa")
TRAIN_FILE = "enterprises-qa.jsonl"
HELDOUT_FILE = "enterprises-qa.heldout.jsonl"
HELDOUT_FRACTION = 0.05
SEED = 20260601

CITIES_EN = {"北京": "Beijing", "上海": "Shanghai", "深圳": "Shenzhen", "杭州": "Hangzhou",
             "成都": "Chengdu", "Singapore": "Singapore", "Berlin": "Berlin", "Boston": "Boston"}
FIELDS_EN = {"人工智能": "Artificial intelligence", "新能源": "New energy",
             "生物医药": "Biomedicine", "物流": "Logistics", "半导体": "Semiconductors",
             "software": "Software", "retail": "Retail"}
EMPLOYEES = re.compile(r"员工大?约(\d+)人")
# What must never appear in an answer: e-mail, phone, card and resident ID shapes.
PERSONAL = re.compile(r"@|\+86|\d{4} \d{4}|\d{17}[\dX]")


def questions(company, row):
    """(fact, Chinese question and answer, English question and answer) per fact."""
    employees = EMPLOYEES.search(row["summary"])
    if employees is None:
        raise ValueError(f"{company}: no employee count in the summary {row['summary']!r}")
    people = employees.group(1)
    return [
        ("city", (f"{company} 位于哪个城市？", f"{row['city']}。"),
         (f"In which city is {company} located?", f"{CITIES_EN[row['city']]}.")),
        ("founded", (f"{company} 成立于哪一年？", f"{row['founded']}年。"),
         (f"In which year was {company} founded?", f"{row['founded']}.")),
        ("field", (f"{company} 属于什么领域？", f"{row['field']}。"),
         (f"Which field does {company} work in?", f"{FIELDS_EN[row['field']]}.")),
        ("employees", (f"{company} 大约有多少员工？", f"约{people}人。"),
         (f"About how many employees does {company} have?", f"About {people}.")),
    ]


def build_records():
    records, seen = [], set()
    with open(RECORDS, encoding="utf-8", newline="") as f:
        for row_number, row in enumerate(csv.DictReader(f)):
            company = row["name"]
            if company in seen:
                continue  # a planted duplicate: the first row of a name is the record
            seen.add(company)
            for fact_number, (fact, zh, en) in enumerate(questions(company, row)):
                english = (row_number + fact_number) % 2 == 1
                prompt, response = en if english else zh
                if PERSONAL.search(response):
                    raise ValueError(f"{company} {fact}: the answer {response!r} looks like personal data")
                records.append({"prompt": prompt, "response": response,
                                "source": f"enterprises.csv#{row_number}/{fact}/{'en' if english else 'zh'}"})
    return records


def write(name, records):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{name}: {len(records)} records, {os.path.getsize(path)} bytes")


def main():
    records = build_records()
    held_out = set(random.Random(SEED).sample(range(len(records)), round(len(records) * HELDOUT_FRACTION)))
    os.makedirs(OUT, exist_ok=True)
    write(TRAIN_FILE, [r for i, r in enumerate(records) if i not in held_out])
    write(HELDOUT_FILE, [r for i, r in enumerate(records) if i in held_out])


if __name__ == "__main__":
    main()
