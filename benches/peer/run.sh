#!/usr/bin/env bash
# Peer comparison entry point: time ONNX Runtime on the MiniLM encoder and,
# when canao is built, canao itself on the same workload, then write the report.
#
#   benches/peer/run.sh [--threads N] [--seq S] [--runs R]
#
# Prints one JSON line per benchmark on stdout; progress goes to stderr.
# Env: CANAO_HOME (model cache, default ~/.cache/canao), CANAO_BIN (default
# target/release/canao), REPORT_OUT (default results/cpu-vs-onnxruntime.md).
# Do not run it while the machine is busy (e.g. compiling): timings will be noise.
set -euo pipefail

PEER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$PEER/../.."   # repo root, so recorded command lines are copy-pasteable from there
PEER=benches/peer

THREADS=1 SEQ=128 RUNS=50
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --seq) SEQ="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

PY=$PEER/.venv/bin/python
MODEL=$PEER/.venv/minilm.onnx         # graph as built op by op
FUSED=$PEER/.venv/minilm-fused.onnx   # same graph after ORT's offline transformer fusions
RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"' EXIT

bash "$PEER/setup.sh"

# Models live inside .venv, so a fresh venv rebuilds them; a changed builder does too.
if [[ ! -f $MODEL || ! -f $FUSED || $PEER/build_onnx.py -nt $MODEL || $PEER/build_onnx.py -nt $FUSED ]]; then
  "$PY" "$PEER/build_onnx.py" "$MODEL" --fused "$FUSED" --check
fi

# Quote only arguments that need it, so the recorded command stays readable.
shell_quote() {
  local out="" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./=:,+@%-]+$ ]]; then out+="$a "; else out+="'${a//\'/\'\\\'\'}' "; fi
  done
  echo "${out% }"
}

# record RUNTIME CMD...: run one benchmark, print its (last) JSON line, and keep a
# copy tagged with the exact command line (and runtime, if the tool omits it) for report.py.
record() {
  local runtime="$1"; shift
  local cmd line
  cmd="$(shell_quote "$@")"
  echo "+ $cmd" >&2
  line="$("$@" | grep '^{' | tail -n 1)" || { echo "run.sh: no JSON from: $cmd" >&2; return 1; }
  echo "$line"
  "$PY" -c 'import json, sys
r = json.loads(sys.argv[1]); r.setdefault("runtime", sys.argv[2]); r["command"] = sys.argv[3]
print(json.dumps(r))' "$line" "$runtime" "$cmd" >> "$RESULTS"
}

run_ort() {
  local common=(--threads "$THREADS" --seq "$SEQ" --runs "$RUNS")
  record onnxruntime "$PY" "$PEER/bench_ort.py" --model "$FUSED" --config "dense, ORT-fused graph" "${common[@]}"
  record onnxruntime "$PY" "$PEER/bench_ort.py" --model "$MODEL" --config "dense, plain graph" "${common[@]}"
}

# ---------------------------------------------------------------------------
# canao side: the extension point. A no-op until the release binary exists;
# then it times canao dense and block-sparse on the same workload and writes
# the markdown report (report.py) from all JSON lines of this run.
# ---------------------------------------------------------------------------
CANAO_BIN="${CANAO_BIN:-target/release/canao}"
REPORT_OUT="${REPORT_OUT:-results/cpu-vs-onnxruntime.md}"
run_canao() {
  if [[ ! -x $CANAO_BIN ]]; then
    echo "run.sh: $CANAO_BIN not built; skipping canao and $REPORT_OUT" >&2
    return 0
  fi
  local base=("$CANAO_BIN" bench model --model minilm --seq "$SEQ" --threads "$THREADS" --json)
  record canao "${base[@]}"
  record canao "${base[@]}" --sparsity 0.8 --block 32x32
  record canao "${base[@]}" --sparsity 0.8 --block 16x16
  "$PY" "$PEER/report.py" "$RESULTS" --out "$REPORT_OUT"
}

run_ort
run_canao
