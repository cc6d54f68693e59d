#!/usr/bin/env bash
# Create benches/peer/.venv with pinned peer-runtime packages.
# Idempotent: a stamp file records the exact pins; if it matches, nothing is done.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

# Exact pins so timings are comparable across machines and runs.
PINS=(
  "onnxruntime==1.32.0"
  "onnx==1.23.2"
  "numpy==2.4.6"
  "safetensors==0.8.0"
  "sympy==1.14.0"  # needed by onnxruntime.transformers.optimizer (the --fused graph)
)
STAMP="$VENV/.pins"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "${PINS[*]}" ]]; then
  echo "setup: $VENV up to date" >&2
  exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
# Write the stamp last, so an interrupted install is retried next time.
printf '%s' "${PINS[*]}" > "$STAMP"
echo "setup: installed ${PINS[*]}" >&2
