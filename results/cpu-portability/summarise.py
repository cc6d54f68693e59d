#!/usr/bin/env python3
"""Summarises the `canao bench kernels --json` runs in this folder (kernels-VARIANT-RUN.jsonl):
per variant, the median over runs of each case's ms and speedup over dense (dense timed in turns
with the case, in the same run), then the tables results/cpu-portability.md quotes."""
import glob, json, statistics, collections, sys

runs = collections.defaultdict(lambda: collections.defaultdict(list))
for path in sorted(glob.glob("kernels-*.jsonl")):
    variant = path[len("kernels-"):].rsplit("-", 1)[0]
    for line in open(path):
        r = json.loads(line)
        key = (r["kernel"], r["k"], r["n"], round(r["density"], 3), r["block"])
        runs[variant][key].append(r)

def med(rows, field):
    return statistics.median(r[field] for r in rows)

variants = sorted(runs)
print("variants:", ", ".join(variants))

# 1. Time of each case, new build against the old (hand-written AVX-512) build, by kernel family.
print("\n## new / old time per case (median over cases of the ratio of medians)")
for v in variants:
    if v == "old-avx512":
        continue
    by_kernel = collections.defaultdict(list)
    for key, rows in runs[v].items():
        old = runs["old-avx512"].get(key)
        if old:
            by_kernel[key[0]].append(med(rows, "ms") / med(old, "ms"))
    cells = ", ".join(
        f"{k} {statistics.median(x):.2f} ({min(x):.2f}-{max(x):.2f}, {len(x)} cases)" for k, x in sorted(by_kernel.items())
    )
    print(f"- {v}: {cells}")

# 2. Block kernels 4x4..32x32 against 0.7/d at d = 0.5, 0.25, 0.1.
print("\n## block kernels (4x4 to 32x32) against 0.7/d: cells meeting it, and the speedup range")
for v in variants:
    out = []
    for d in (0.5, 0.25, 0.1):
        sp = [
            med(rows, "speedup_vs_dense")
            for key, rows in runs[v].items()
            if key[0] == "block" and key[3] == d and key[4] != "1x1"
        ]
        if sp:
            ok = sum(s >= 0.7 / d for s in sp)
            out.append(f"d={d}: {ok}/{len(sp)} ({min(sp):.2f}-{max(sp):.2f}x, target {0.7 / d:.1f})")
    print(f"- {v}: " + "; ".join(out))

# 3. Best block speedup per density and per shape, and dense GFLOP/s.
print("\n## best block speedup per density (over shapes and block sizes), dense GFLOP/s")
for v in variants:
    best = {}
    for d in (0.5, 0.25, 0.1):
        sp = [med(rows, "speedup_vs_dense") for key, rows in runs[v].items() if key[0] == "block" and key[3] == d]
        best[d] = max(sp) if sp else float("nan")
    dense = [med(rows, "gflops_actual") for key, rows in runs[v].items() if key[0] == "dense"]
    print(f"- {v}: best {best[0.5]:.2f} / {best[0.25]:.2f} / {best[0.1]:.2f}; dense {min(dense):.0f}-{max(dense):.0f} GFLOP/s")

# 4. Other sparse families: speedup over dense, median over cases per density.
print("\n## unstructured (1x1), pattern, circulant: speedup over dense (median over shapes)")
for v in variants:
    parts = []
    for kernel, block in (("block", "1x1"), ("pattern", None), ("circulant", None)):
        per_d = collections.defaultdict(list)
        for key, rows in runs[v].items():
            if key[0] == kernel and (block is None or key[4] == block):
                per_d[key[3] if kernel != "circulant" else key[4]].append(med(rows, "speedup_vs_dense"))
        name = "1x1" if block else kernel
        parts.append(name + " " + ", ".join(f"{d}: {statistics.median(x):.2f}" for d, x in sorted(per_d.items())))
    print(f"- {v}: " + "; ".join(parts))
