"""Checks an ONNX file from `canao export` with the ONNX reference tools and ONNX Runtime.

    check_export.py MODEL.onnx CANAO_RUN.json TEXT...

Runs onnx.checker (full check), then ONNX Runtime at batch 1 / seq 8 and batch 3 / seq 21 (the
last sentence half padded) to show the dynamic axes, then TEXT... as one padded batch against
CANAO_RUN.json (the output of `canao run TEXT...` on the same model and texts), printing the largest
difference to canao's sentence embeddings. Tokenises with a plain WordPiece over the model's
vocab.txt, enough for the short ASCII sentences used here; the token counts are printed so they
can be checked against canao's.
"""

import json
import os
import re
import sys

import numpy as np
import onnx
import onnxruntime as ort

model_path, run_path, texts = sys.argv[1], sys.argv[2], sys.argv[3:]
home = os.environ.get("CANAO_HOME", os.path.expanduser("~/.cache/canao"))
vocab = {w.rstrip("\n"): i for i, w in enumerate(open(f"{home}/minilm/vocab.txt", encoding="utf-8"))}


def wordpiece(text):
    ids = [vocab["[CLS]"]]
    for w in re.findall(r"\w+|[^\w\s]", text.lower()):
        start = 0
        while start < len(w):
            end = len(w)
            while end > start and (("##" if start else "") + w[start:end]) not in vocab:
                end -= 1
            if end == start:
                raise SystemExit(f"cannot tokenise {w!r} with this plain WordPiece")
            ids.append(vocab[("##" if start else "") + w[start:end]])
            start = end
    return ids + [vocab["[SEP]"]]


m = onnx.load(model_path)
onnx.checker.check_model(m, full_check=True)
dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in m.graph.input}
print(f"{model_path}: onnx.checker ok, opset {m.opset_import[0].version}, inputs {dims}")
session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
rng = np.random.default_rng(0)
for b, seq in [(1, 8), (3, 21)]:
    ids = rng.integers(0, len(vocab), size=(b, seq), dtype=np.int64)
    mask = np.ones((b, seq), np.int64)
    mask[-1, seq // 2 :] = 0
    hidden, sentence = session.run(None, {"input_ids": ids, "attention_mask": mask})
    print(f"  batch {b}, seq {seq}: last_hidden_state {hidden.shape}, sentence_embedding {sentence.shape}")
run = json.load(open(run_path))
enc = [wordpiece(t) for t in texts]
print("  tokens", [len(e) for e in enc], "canao:", run["tokens"])
seq = max(map(len, enc))
ids = np.array([e + [0] * (seq - len(e)) for e in enc], np.int64)
mask = np.array([[1] * len(e) + [0] * (seq - len(e)) for e in enc], np.int64)
got = session.run(None, {"input_ids": ids, "attention_mask": mask})[1]
print(f"  max |ORT - canao| over sentence embeddings: {np.abs(got - np.array(run['embeddings'])).max():.3e}")
