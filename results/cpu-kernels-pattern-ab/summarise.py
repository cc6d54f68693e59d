#!/usr/bin/env python3
"""Medians over the runs of each binary of the pattern kernel's speedup over dense in the same run.

Usage (from this folder): python3 summarise.py avx512   (or avx2)
"""
import json
import statistics
import sys

isa = sys.argv[1] if len(sys.argv) > 1 else "avx512"
SHAPES = [(384, 384), (384, 1536), (1536, 384), (768, 768), (768, 3072)]


def rows(binary):
    runs = []
    for i in (1, 2, 3):
        with open(f"{binary}-{isa}-{i}.jsonl") as f:
            runs.append([json.loads(line) for line in f])
    return runs


def cell(runs, density, shape, key="speedup_vs_dense"):
    vals = [
        r[key]
        for run in runs
        for r in run
        if r["kernel"] == "pattern" and abs(r["density"] - density) < 1e-3 and (r["k"], r["n"]) == shape
    ]
    return statistics.median(vals)


def dense(runs):
    return [r["gflops_actual"] for run in runs for r in run if r["kernel"] == "dense"]


old, new = rows("old"), rows("new")
print(f"| pattern 16x16, density | target (0.7/d) | | " + " | ".join(f"{k}x{n}" for k, n in SHAPES) + " | GFLOP/s actual |")
print("|---:|---:|---|" + "---:|" * len(SHAPES) + "---:|")
for d in (0.5, 0.25, 0.1015625):
    for name, runs in (("before", old), ("after", new)):
        cells = " | ".join(f"{cell(runs, d, s):.2f}" for s in SHAPES)
        g = [cell(runs, d, s, "gflops_actual") for s in SHAPES]
        lead = f"| {d:.3g} | {0.7 / d:.2f} |" if name == "before" else "| | |"
        print(f"{lead} {name} | {cells} | {min(g):.0f}-{max(g):.0f} |")
for name, runs in (("before", old), ("after", new)):
    g = dense(runs)
    print(f"dense GFLOP/s, {name} runs: {min(g):.0f}-{max(g):.0f}")
