#!/usr/bin/env python3
"""Build the all-MiniLM-L6-v2 encoder as a plain ONNX graph (opset 17).

The graph is written op by op with onnx.helper from model.safetensors, so the
peer benchmark does not depend on torch/transformers (not installable offline
here) and we know exactly which computation ORT is timed on: the same BERT
encoder canao runs (embeddings + 6 post-LN layers, exact erf GELU, additive
attention mask), output last_hidden_state, no pooling.

Usage: build_onnx.py OUT.onnx [--fused FUSED.onnx] [--model-dir DIR] [--check]
  --fused  also write the graph after ORT's offline transformer fusions.
  --check  compare ORT's output (for each file written) to a float64 numpy
           forward pass of the same weights; fail above 1e-4 max abs diff.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

OPSET = 17  # first opset with LayerNormalization
MASK_NEG = -1e9  # additive mask for padded keys: exp() underflows to exactly 0


def default_model_dir():
    home = os.environ.get("CANAO_HOME", os.path.expanduser("~/.cache/canao"))
    return os.path.join(home, "minilm")


def load(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    w = {k: v.astype(np.float32) for k, v in load_file(os.path.join(model_dir, "model.safetensors")).items()
         if v.dtype.kind == "f"}
    return cfg, w


def build(cfg, w):
    """Return an onnx.ModelProto for the encoder."""
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    head_dim, eps = hidden // heads, float(cfg["layer_norm_eps"])
    nodes, inits = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    def linear(x, prefix, out):
        # Weights are stored [out, in]; pre-transpose so the graph is a plain x @ W^T + b.
        wt = init(prefix + ".weight_t", w[prefix + ".weight"].T)
        b = init(prefix + ".bias", w[prefix + ".bias"])
        return node("Add", [node("MatMul", [x, wt], out + "_mm"), b], out)

    def layer_norm(x, prefix, out):
        g, b = init(prefix + ".weight", w[prefix + ".weight"]), init(prefix + ".bias", w[prefix + ".bias"])
        return node("LayerNormalization", [x, g, b], out, axis=-1, epsilon=eps)

    # Small shared constants.
    split_heads = init("c_split_heads", np.array([0, 0, heads, head_dim], np.int64))  # 0 = copy dim
    merge_heads = init("c_merge_heads", np.array([0, 0, hidden], np.int64))
    scale = init("c_scale", np.array(np.sqrt(head_dim), np.float32))  # scores / sqrt(d): Div, as the fusion expects
    one, half = init("c_one", np.array(1.0, np.float32)), init("c_half", np.array(0.5, np.float32))
    sqrt2 = init("c_sqrt2", np.array(np.sqrt(2.0), np.float32))

    # --- Embeddings: word[ids] + pos[0..S) + token_type[0], then LayerNorm.
    # Token types are always 0, so row 0 is folded into the position table (same sum, one Add fewer).
    word = init("word_embeddings", w["embeddings.word_embeddings.weight"])
    pos = init("position_plus_type0", w["embeddings.position_embeddings.weight"]
               + w["embeddings.token_type_embeddings.weight"][0])
    # Positions are 0..S-1: take the first S rows with a Slice. (Range+Gather is equivalent but makes
    # ORT 1.32's ENABLE_ALL optimiser emit a broken Slice: "Starts must be a 1-D array".)
    seq_len = node("Shape", ["input_ids"], "seq_len", start=1, end=2)  # [S]
    zero = init("c_zero1", np.array([0], np.int64))
    pos_emb = node("Slice", [pos, zero, seq_len, zero], "pos_emb")  # starts=[0], ends=[S], axes=[0]
    emb = node("Add", [node("Gather", [word, "input_ids"], "word_emb", axis=0), pos_emb], "emb_sum")
    x = layer_norm(emb, "embeddings.LayerNorm", "emb_ln")

    # --- Additive mask [1,1,1,S]: 0 where attention_mask==1, MASK_NEG where 0.
    # Same op order as a transformers export (Unsqueeze, Unsqueeze, Cast, Sub, Mul) so that ORT's
    # offline attention fusion (see fuse()) recognises it; any other order silently stays unfused.
    m = node("Unsqueeze", ["attention_mask", init("c_axis1", np.array([1], np.int64))], "mask_3d")
    m = node("Unsqueeze", [m, init("c_axis2", np.array([2], np.int64))], "mask_4d")
    m = node("Cast", [m], "mask_f", to=TensorProto.FLOAT)
    mask = node("Mul", [node("Sub", [one, m], "mask_inv"), init("c_mask_neg", np.array(MASK_NEG, np.float32))], "mask_add")

    for i in range(cfg["num_hidden_layers"]):
        p, t = f"encoder.layer.{i}", f"l{i}"
        # Self-attention: [1,S,384] -> [1,12,S,32] per projection (K as [1,12,32,S] for Q@K^T).
        q = node("Transpose", [node("Reshape", [linear(x, p + ".attention.self.query", t + "_q"), split_heads], t + "_q4")],
                 t + "_qh", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [linear(x, p + ".attention.self.key", t + "_k"), split_heads], t + "_k4")],
                 t + "_kh", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [linear(x, p + ".attention.self.value", t + "_v"), split_heads], t + "_v4")],
                 t + "_vh", perm=[0, 2, 1, 3])
        s = node("Add", [node("Div", [node("MatMul", [q, k], t + "_qk"), scale], t + "_qk_s"), mask], t + "_scores")
        probs = node("Softmax", [s], t + "_probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], t + "_ctx")], t + "_ctx_t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge_heads], t + "_ctx_m")
        attn = linear(ctx, p + ".attention.output.dense", t + "_attn_out")
        x = layer_norm(node("Add", [attn, x], t + "_res1"), p + ".attention.output.LayerNorm", t + "_ln1")
        # FFN with exact GELU written as ((h * (1 + erf(h / sqrt2))) * 0.5), the form ORT fuses into Gelu.
        h = linear(x, p + ".intermediate.dense", t + "_ff1")
        erf = node("Erf", [node("Div", [h, sqrt2], t + "_ff1_s")], t + "_erf")
        g = node("Mul", [node("Mul", [h, node("Add", [erf, one], t + "_erf1")], t + "_ff1_g"), half], t + "_gelu")
        f = linear(g, p + ".output.dense", t + "_ff2")
        out = "last_hidden_state" if i == cfg["num_hidden_layers"] - 1 else t + "_ln2"
        x = layer_norm(node("Add", [f, x], t + "_res2"), p + ".output.LayerNorm", out)

    graph = helper.make_graph(
        nodes, "minilm_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, "seq"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, [1, "seq", hidden])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="canao-peer")
    onnx.checker.check_model(model)
    return model


def reference(cfg, w, ids, mask):
    """Float64 numpy forward pass of the same encoder (HF BertModel semantics)."""
    from math import erf, sqrt
    W = {k: v.astype(np.float64) for k, v in w.items()}
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd, eps, S = H // nh, cfg["layer_norm_eps"], ids.shape[1]
    verf = np.vectorize(erf)

    def ln(x, p):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * W[p + ".weight"] + W[p + ".bias"]

    def lin(x, p):
        return x @ W[p + ".weight"].T + W[p + ".bias"]

    x = (W["embeddings.word_embeddings.weight"][ids[0]] + W["embeddings.position_embeddings.weight"][:S]
         + W["embeddings.token_type_embeddings.weight"][0])
    x = ln(x, "embeddings.LayerNorm")  # [S, H]
    add_mask = (1.0 - mask[0].astype(np.float64)) * MASK_NEG  # [S] over keys
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q, k, v = (lin(x, p + f".attention.self.{n}").reshape(S, nh, hd).transpose(1, 0, 2)
                   for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / sqrt(hd) + add_mask
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = ((s / s.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(S, H)
        x = ln(lin(ctx, p + ".attention.output.dense") + x, p + ".attention.output.LayerNorm")
        h = lin(x, p + ".intermediate.dense")
        h = 0.5 * h * (1.0 + verf(h / sqrt(2.0)))
        x = ln(lin(h, p + ".output.dense") + x, p + ".output.LayerNorm")
    return x[None]


def fuse(src, dst, cfg):
    """Write ORT's own offline-fused variant (Attention, SkipLayerNormalization, BiasGelu).

    This is the transformers optimizer shipped in the onnxruntime wheel, the usual
    way BERT models are deployed on ORT CPU; the runtime ENABLE_ALL level alone does
    not fuse attention. Benchmarking it keeps the peer at its best, not a straw man.
    opt_level=0: only the fusions; ORT's hardware-specific passes still run at load.
    """
    import logging
    from onnxruntime.transformers.optimizer import optimize_model
    logging.getLogger("onnxruntime.transformers.optimizer").setLevel(logging.ERROR)  # "producer not pytorch"
    m = optimize_model(src, model_type="bert", num_heads=cfg["num_attention_heads"],
                       hidden_size=cfg["hidden_size"], opt_level=0)
    stats = {k: v for k, v in m.get_fused_operator_statistics().items() if v}
    log(f"fuse: {stats}")
    if stats.get("Attention", 0) != cfg["num_hidden_layers"]:
        log("fuse: WARNING attention was not fused; the graph pattern no longer matches ORT's fusion")
    m.save_model_to_file(dst + ".tmp")
    os.replace(dst + ".tmp", dst)


def log(msg):
    print(msg, file=sys.stderr, flush=True)  # stdout stays free for the bench's JSON in run.sh


def check(path, cfg, w):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1  # keep the check light on a small box
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # as benchmarked
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, cfg["vocab_size"], size=(1, 10), dtype=np.int64)
    worst = 0.0
    # Full mask, and one with the last 3 tokens padded out to exercise the additive mask.
    for mask in (np.ones((1, 10), np.int64), np.array([[1] * 7 + [0] * 3], np.int64)):
        got = sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]
        diff = float(np.abs(got.astype(np.float64) - reference(cfg, w, ids, mask)).max())
        log(f"check {os.path.basename(path)}: mask={mask[0].tolist()} max_abs_diff={diff:.3e}")
        worst = max(worst, diff)
    ok = worst < 1e-4
    log(f"check {os.path.basename(path)}: {'PASS' if ok else 'FAIL'} (max abs diff {worst:.3e}, tol 1e-4)")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="where to write the .onnx file")
    ap.add_argument("--fused", metavar="PATH", help="also write ORT's offline-fused variant here")
    ap.add_argument("--model-dir", default=default_model_dir())
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    cfg, w = load(a.model_dir)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    onnx.save(build(cfg, w), a.out + ".tmp")
    os.replace(a.out + ".tmp", a.out)  # atomic, so run.sh never sees a half-written model
    log(f"wrote {a.out} ({os.path.getsize(a.out) / 1e6:.1f} MB)")
    outs = [a.out]
    if a.fused:
        fuse(a.out, a.fused, cfg)
        log(f"wrote {a.fused}")
        outs.append(a.fused)
    if a.check and not all([check(p, cfg, w) for p in outs]):
        for p in outs:  # never leave a wrong model behind for run.sh to reuse
            os.remove(p)
        sys.exit(1)


if __name__ == "__main__":
    main()
