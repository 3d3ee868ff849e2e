#!/usr/bin/env python3
"""Prints the 4-bit perplexity table from a run of bench/quantizer/ppl_table.json.

    python3 bench/quantizer/ppl_table_report.py RUN_DIR

RUN_DIR is the pipeline's run.output_dir. summary.json is read when the run wrote it (at its
end, also when a stage failed or was cancelled); otherwise metrics.jsonl, which is written
as the run goes: each host eval/perplexity point belongs to the evaluate stage whose
stage/<name>/seconds point follows it.
"""
import json
import os
import sys

ROWS = [("evaluate", None, "bf16 (as trained)"), ("evaluate-rtn4", "quantize-rtn", "RTN 4-bit g128 (`rtn`)"),
        ("evaluate-gptq4", "quantize-gptq", "GPTQ 4-bit g128 (`gptq`)"),
        ("evaluate-awq4", "quantize-awq", "AWQ 4-bit g128 (`awq`)")]


def read_metrics(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    points = []
    with open(path) as f:
        for line in f:
            try:
                points.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by a killed run
    return points


def stages_from_metrics(points):
    stages, pending = {}, None
    for p in points:
        if p["source"] == "host" and p["name"] == "eval/perplexity":
            pending = p["value"]
        elif p["source"] == "host" and p["name"].startswith("stage/") and p["name"].endswith("/seconds"):
            name = p["name"][len("stage/"):-len("/seconds")]
            stages[name] = {"status": "completed", "seconds": p["value"], "summary": {}}
            if pending is not None and name.startswith("evaluate"):
                stages[name]["summary"]["perplexity"] = pending
            pending = None
    return stages


def main(run_dir):
    points = read_metrics(run_dir)
    summary_path = os.path.join(run_dir, "summary.json")
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            run = json.load(f)
        stages = {s["name"]: s for s in run["stages"]}
        print(f"run: {run.get('outcome')}")
    else:
        stages = stages_from_metrics(points)
        print("run: no summary.json (the run was stopped); read from metrics.jsonl")

    train = stages.get("pretrain", {})
    t = train.get("summary", {})
    if t:
        print(f"pretrain: {t.get('trainable_parameters', 0):,} parameters, {t.get('steps')} steps, "
              f"{t.get('trained_tokens', 0):,} tokens in {t.get('seconds', 0):.0f} s "
              f"({t.get('tokens_per_second', 0):,.0f} tokens/s, MFU {t.get('mfu', 0):.3f}, "
              f"peak {t.get('peak_memory_gib', 0):.1f} GiB); train loss {t.get('first_loss', 0):.3f} -> "
              f"{t.get('final_loss', 0):.3f}, held-out loss {t.get('eval_loss', 0):.3f}")
    curve = [(p["step"], p["value"]) for p in points
             if p["source"] != "host" and p["name"] == "eval/loss"]
    if curve:
        print("held-out loss during training: " + ", ".join(f"{s}: {v:.3f}" for s, v in curve))

    base = stages.get("evaluate", {}).get("summary", {}).get("perplexity")
    print()
    print("| model | perplexity | Δ vs bf16 | mean relative weight error | quantize s |")
    print("| --- | --- | --- | --- | --- |")
    for evaluate, quantize, label in ROWS:
        e = stages.get(evaluate, {})
        q = stages.get(quantize, {}) if quantize else {}
        ppl = e.get("summary", {}).get("perplexity")
        if ppl is None:
            # The quantize stage's status says why when it did not complete (then its evaluate was skipped).
            status = (q.get("status") if q and q.get("status") != "completed" else e.get("status")) or "not run"
            print(f"| {label} | ({status}) | | | |")
            continue
        delta = "" if quantize is None or base is None else f"{ppl - base:+.3f} ({(ppl / base - 1) * 100:+.2f}%)"
        error = q.get("summary", {}).get("mean_relative_weight_error")
        error_text = f"{error:.4f}" if error is not None else ""
        seconds = f"{q['seconds']:.1f}" if q.get("seconds") is not None else ""
        print(f"| {label} | {ppl:.3f} | {delta} | {error_text} | {seconds} |")
    e = stages.get("evaluate", {}).get("summary", {})
    if e.get("scored_tokens"):
        print(f"\nheld out: {e['scored_tokens']:,} scored tokens of {e.get('documents')} documents, "
              f"window {e.get('max_length')}, stride {e.get('stride')}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
