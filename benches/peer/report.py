#!/usr/bin/env python3
"""Write results/cpu-vs-onnxruntime.md from benchmark JSON lines.

Input: JSON lines (file or stdin), one per benchmark run, as printed by
bench_ort.py or `canao bench model ... --json`, each with two keys added by
run.sh: "command" (the exact command line) and, when the tool does not print
it, "runtime". Needed per line: median_ms; canao lines also give sparsity and
block. Speedups are against the *fastest* ONNX Runtime dense row, so a weaker
ORT graph variant can never inflate canao's numbers.

Usage: report.py RESULTS.jsonl --out results/cpu-vs-onnxruntime.md
"""
import argparse
import datetime
import json
import os
import subprocess
import sys


def machine():
    """(cpu model name, logical cores) from lscpu, falling back to /proc/cpuinfo."""
    model = None
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    if model is None:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "unknown")
    return model, os.cpu_count()


def config(r):
    """Human label: ORT rows carry one; canao rows are described by sparsity/block."""
    if r.get("config"):
        return r["config"]
    sp = float(r.get("sparsity") or 0)
    if sp == 0:
        return "dense"
    block = r.get("block")
    if isinstance(block, (list, tuple)):
        block = "x".join(map(str, block))
    return f"{sp:g} block sparsity, {block} blocks"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="?", help="JSON lines file (default: stdin)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    src = open(a.results) if a.results else sys.stdin
    rows = [json.loads(l) for l in src if l.strip()]

    ort_rows = [r for r in rows if r.get("runtime") == "onnxruntime"]
    if not ort_rows:
        sys.exit("report: no onnxruntime row to compare against")
    base = min(ort_rows, key=lambda r: r["median_ms"])
    for key in ("seq", "threads"):
        vals = {r.get(key) for r in rows if r.get(key) is not None}
        if len(vals) > 1:
            print(f"report: WARNING rows differ in {key}: {sorted(vals)}", file=sys.stderr)

    model, cores = machine()
    lines = [
        "# canao vs ONNX Runtime on CPU: all-MiniLM-L6-v2 encoder",
        "",
        f"- Machine: {model}, {cores} logical cores",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- Workload: batch 1, seq {base.get('seq')}, {base.get('threads')} thread(s), last_hidden_state only",
        f"- ONNX Runtime {base.get('version')}, CPUExecutionProvider, ORT_ENABLE_ALL, inter-op threads 1",
        f"- Speedup baseline: fastest ORT dense row ({base['config']}, {base['median_ms']:.2f} ms)",
        "",
        "| Runtime | Configuration | Threads | Median ms | p10 to p90 ms | Speedup vs ORT dense |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        spread = f"{r['p10_ms']:.2f} to {r['p90_ms']:.2f}" if "p10_ms" in r and "p90_ms" in r else "n/a"
        lines.append(f"| {r.get('runtime', 'canao')} | {config(r)} | {r.get('threads', '')} | "
                     f"{r['median_ms']:.2f} | {spread} | {base['median_ms'] / r['median_ms']:.2f}x |")
    lines += ["", "Commands (run from the repository root, in this order):", "", "```"]
    lines += [r.get("command", "(not recorded)") for r in rows]
    lines += ["```", "", "Regenerate with `benches/peer/run.sh --threads N` (needs `target/release/canao`).", ""]

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print(f"report: wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
