#!/usr/bin/env bash
# GPU figures for canao's WGSL kernels, for a machine with a real GPU (not run by CI).
# Builds canao with the wgpu backend, prints the adapter, runs the weight-kernel suite
# (ms and GFLOP/s per kernel, speedup over dense in the same run, device times from timestamp
# queries where the adapter has them) and MiniLM forward passes on the GPU (median end to end,
# device time, and device time per kernel); where PyTorch with CUDA is importable, times the
# same GEMM shapes with it (cuBLAS) in the same run and prints canao's dense time over its. canao's host times include one
# submit and host wait per run; its device times and PyTorch's CUDA-event times do not. Output
# goes to stdout and results/gpu-<date>/.
#   benches/gpu/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=""
seq="--seq 128"
[ "${1:-}" = "--quick" ] && quick="--quick" && seq="--seq 32"
out="results/gpu-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"

cargo build --release --locked -p canao-cli --features wgpu
canao=./target/release/canao

echo "== weight kernels (wgpu)"
$canao bench kernels --backend wgpu $quick | tee "$out/kernels.txt"
$canao bench kernels --backend wgpu $quick --json > "$out/kernels.jsonl"

echo "== MiniLM forward (wgpu): forward-pass ms per text, dense and 80 % block-sparse"
for args in "" "--sparsity 0.8 --block 32x32"; do
  # shellcheck disable=SC2086
  $canao run --model minilm --backend wgpu $args \
    "The weather is lovely today." "It's so sunny outside!" "He drove to the stadium." \
    | tee -a "$out/minilm.jsonl"
done

echo "== MiniLM ($seq, wgpu): end-to-end median and device time, per-kernel device times"
for args in "" "--sparsity 0.8 --block 32x32"; do
  # shellcheck disable=SC2086
  $canao bench model --model minilm --backend wgpu $seq --profile --json $args \
    2> >(tee -a "$out/minilm-profile.txt" >&2) | tee -a "$out/minilm-bench.jsonl"
done

if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "== the same GEMM shapes with PyTorch (cuBLAS)"
  python3 - "$quick" "$out/kernels.jsonl" <<'PY' | tee "$out/torch.txt"
import json, sys, torch
quick = sys.argv[1] == "--quick"
# canao's dense rows of this run: device time where the adapter had timestamp queries, else host.
canao = {}
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["kernel"] == "dense":
        canao[(r["k"], r["n"])] = (r["device_ms"] or r["ms"], "device" if r["device_ms"] else "host")
shapes = [(384, 384)] if quick else [(384, 384), (384, 1536), (1536, 384), (768, 768), (768, 3072)]
print(f"device: {torch.cuda.get_device_name()}")
print(f"{'k':>5} {'n':>5} {'torch ms':>9} {'GFLOP/s':>9} {'canao ms':>9} {'canao/torch':>11}")
for k, n in shapes:
    x = torch.randn(128, k, device="cuda")
    w = torch.randn(n, k, device="cuda")
    for _ in range(10):
        x @ w.T
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    reps = 200
    start.record()
    for _ in range(reps):
        x @ w.T
    end.record()
    torch.cuda.synchronize()
    ms = start.elapsed_time(end) / reps
    ours, kind = canao.get((k, n), (float("nan"), "-"))
    print(f"{k:>5} {n:>5} {ms:>9.4f} {2 * 128 * k * n / ms / 1e6:>9.1f} {ours:>9.4f} {ours / ms:>10.2f}x ({kind} time)")
PY
else
  echo "(PyTorch with CUDA not importable here: no cuBLAS comparison)"
fi
echo "results in $out"
