#!/usr/bin/env python3
"""Time ONNX Runtime (CPU) on the MiniLM encoder; print one JSON line.

Batch 1, sequence length S, all tokens attended (no padding), like canao's
`bench model --model minilm --seq S`. Only session.run is timed: tokenisation,
session creation and graph optimisation are excluded, as they are for canao.
"""
import argparse
import json
import platform
import time

import numpy as np
import onnxruntime as ort


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True, help="ONNX file from build_onnx.py")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--runs", type=int, default=50, help="timed runs (>= 20)")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--config", default="dense", help="free-text label carried into the JSON/report")
    a = ap.parse_args()
    if a.runs < 20:
        ap.error("--runs must be at least 20 for stable percentiles")

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1  # one sequential graph; parallelism is inside the ops
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # ORT's shape-merge warnings are noise here
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])

    # Fixed seed: token ids do not change the cost, but keep runs reproducible.
    ids = np.random.default_rng(0).integers(1000, 30000, size=(1, a.seq), dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones((1, a.seq), np.int64)}

    for _ in range(a.warmup):  # lets ORT allocate its arena and warm caches/thread pool
        sess.run(None, feed)
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1e3)

    p10, med, p90 = np.percentile(times, [10, 50, 90])
    print(json.dumps({
        "runtime": "onnxruntime", "version": ort.__version__, "config": a.config, "threads": a.threads, "seq": a.seq,
        "median_ms": round(float(med), 3), "p10_ms": round(float(p10), 3), "p90_ms": round(float(p90), 3),
        "runs": a.runs, "cpu": cpu_model(),
    }))


if __name__ == "__main__":
    main()
