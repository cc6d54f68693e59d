#!/usr/bin/env bash
# Create benches/peer/.venv-torch: CPU PyTorch + transformers for the MiniLM
# fine-tuning peer (train_minilm.py). Separate from .venv (ONNX Runtime peer).
# Idempotent: a stamp file records the exact pins; if it matches, nothing is done.
#
# Why the nvidia-* wheels: every Linux x86_64 torch wheel on PyPI for CPython 3.11
# (1.13.1 through 2.15.0) is a CUDA build. `pip install --no-deps torch` alone does
# not import: libtorch_cpu.so itself has DT_NEEDED libcudart/libcupti, libtorch.so
# links libtorch_cuda.so (cuBLAS, cuDNN, cuFFT, cuSPARSE(Lt), NCCL, NVSHMEM, ...),
# and torch/__init__.py raises "libcublasLt.so.*[0-9] not found". So we install
# the CUDA *runtime library* wheels torch links against (~2 GB download, no GPU
# needed, never used on CPU) but skip what is only for GPUs/compilation: triton,
# cuda-bindings, cuda-pathfinder, the cuda-toolkit meta package and cuda-cccl.
# Everything goes in with --no-deps from this full lock, so nothing floats.
# CPU kernels are the same as in the +cpu builds (MKL, oneDNN, AVX512 dispatch).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-torch"
PYTHON="${PYTHON:-python3}"

PINS=(
  # torch and its pure-Python deps
  "torch==2.15.0"
  "filelock==4.3.1"
  "typing-extensions==4.16.0"
  "sympy==1.14.0"
  "mpmath==1.3.0"
  "networkx==3.6.1"
  "jinja2==3.1.6"
  "MarkupSafe==3.0.4"
  "fsspec==2026.9.0"
  "setuptools==84.2.1"
  # shared libraries torch 2.15.0 (cu132 build) is linked against; loaded, never used on CPU
  "nvidia-cuda-runtime==13.2.86"
  "nvidia-cuda-cupti==13.2.86"
  "nvidia-cuda-nvrtc==13.2.86"
  "nvidia-cublas==13.4.1.3"
  "nvidia-cudnn-cu13==9.26.0.51"
  "nvidia-cufft==12.2.0.57"
  "nvidia-cufile==1.17.1.22"
  "nvidia-cusolver==12.2.0.11"
  "nvidia-cusparse==12.7.10.12"
  "nvidia-cusparselt-cu13==0.8.1"
  "nvidia-nccl-cu13==2.30.7"
  "nvidia-nvjitlink==13.5.37"
  "nvidia-nvshmem-cu13==3.7.2"
  "nvidia-nvtx==13.2.86"
  # transformers and its dependency closure (as resolved by pip for transformers==5.24.0)
  "transformers==5.24.0"
  "tokenizers==0.23.3"
  "safetensors==0.8.0"
  "huggingface_hub==2.4.0"
  "hf-xet==1.8.0"
  "numpy==2.4.6"
  "regex==2026.11.19"
  "PyYAML==6.0.4"
  "packaging==26.4"
  "tqdm==4.70.1"
  "typer==0.29.2"
  "click==8.5.1"
  "rich==15.0.0"
  "markdown-it-py==4.3.0"
  "mdurl==0.1.2"
  "Pygments==2.21.0"
  "shellingham==1.5.4"
  "annotated-doc==0.0.7"
  "annotated-types==0.8.0"
  "pydantic==2.14.4"
  "pydantic_core==2.50.5"
  "typing-inspection==0.4.5"
  "httpx2==2.16.2"
  "httpcore2==2.16.2"
  "h11==0.16.0"
  "anyio==4.16.0"
  "idna==3.20"
  "truststore==0.10.5"
)
STAMP="$VENV/.pins"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "${PINS[*]}" ]]; then
  echo "setup_torch: $VENV up to date" >&2
  exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "${PINS[@]}"
# Smoke test before stamping: torch must import and compute on CPU without a GPU.
"$VENV/bin/python" -c 'import torch, transformers, tokenizers
assert (torch.eye(2) @ torch.ones(2, 2)).sum().item() == 4.0
print("setup_torch: torch", torch.__version__, "transformers", transformers.__version__,
      "tokenizers", tokenizers.__version__, flush=True)' >&2
# Write the stamp last, so an interrupted install is retried next time.
printf '%s' "${PINS[*]}" > "$STAMP"
echo "setup_torch: installed ${#PINS[@]} pinned packages" >&2
