#!/usr/bin/env python3
"""Summarises a kineto chrome trace (lmf_backend_decode_bench with LMF_BENCH_TRACE=FILE):
GPU kernel time by kernel name, the GPU's busy fraction between the first and the last
kernel, and per-step figures when the number of steps is given.
  python3 summarize_trace.py TRACE.json [STEPS]"""
import collections
import json
import sys

trace = json.load(open(sys.argv[1]))
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 0
events = trace["traceEvents"] if isinstance(trace, dict) else trace
kernels = [e for e in events if e.get("cat") in ("kernel", "Kernel") and "dur" in e]
memcpy = [e for e in events if e.get("cat") in ("gpu_memcpy", "Memcpy", "gpu_memset") and "dur" in e]
if not kernels:
    sys.exit("no kernel events in the trace")
by_name = collections.defaultdict(lambda: [0, 0.0])
for e in kernels:
    by_name[e["name"]][0] += 1
    by_name[e["name"]][1] += e["dur"]
busy = sum(e["dur"] for e in kernels) + sum(e["dur"] for e in memcpy)
start = min(e["ts"] for e in kernels)
end = max(e["ts"] + e["dur"] for e in kernels)
print(f"kernels: {len(kernels)}, kernel time {sum(e['dur'] for e in kernels)/1e3:.2f} ms, "
      f"copies {sum(e['dur'] for e in memcpy)/1e3:.2f} ms ({len(memcpy)}), "
      f"span {(end-start)/1e3:.2f} ms, GPU busy {busy/(end-start)*100:.0f}%")
if steps:
    print(f"per step: {len(kernels)/steps:.0f} kernels, {busy/steps/1e3:.3f} ms busy, {(end-start)/steps/1e3:.3f} ms span")
total = sum(v[1] for v in by_name.values())
for name, (count, dur) in sorted(by_name.items(), key=lambda kv: -kv[1][1])[:30]:
    print(f"{dur/1e3:9.2f} ms {dur/total*100:5.1f}% {count:6d}x {dur/count:8.1f} us  {name[:110]}")
