#!/usr/bin/env python3
"""PyTorch peer for canao's MiniLM fine-tuning on Rotten Tomatoes (fresh / rotten).

Fine-tunes all-MiniLM-L6-v2 from the local asset cache (never the hub) the way canao's
`train` does it, so accuracy and speed can be compared on the same split:

  BertModel -> attention-masked mean of the last hidden states -> dropout -> Linear(384, 2)
  (head N(0, 0.02^2), bias 0; hidden and attention dropout 0.1), cross-entropy,
  AdamW (decay on every parameter, as burn's AdamW does), linear warm-up over the first
  10 % of steps then linear decay to 0 (canao's `lr_at`), global grad-norm clip,
  length-bucketed batches, early stopping on validation accuracy (best epoch's weights).

  benches/peer/.venv-torch/bin/python benches/peer/train_minilm.py --split RUN/split.json
  benches/peer/.venv-torch/bin/python benches/peer/train_minilm.py --make-split --train-limit 200 --epochs 1
  benches/peer/.venv-torch/bin/python benches/peer/train_minilm.py --bench-step --threads 1

Prints one JSON line on stdout; progress goes to stderr.
Env: CANAO_HOME (asset cache, default ~/.cache/canao): minilm/ and rotten-tomatoes/.
"""

import argparse
import bz2
import copy
import csv
import io
import json
import math
import os
import random
import statistics
import sys
import time

CORPUS = "rotten_tomatoes_corpus_full.csv.bz2"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def canao_home():
    home = os.environ.get("CANAO_HOME") or os.path.expanduser("~/.cache/canao")
    return home


def need(path, what):
    if not os.path.exists(path):
        sys.exit(
            f"train_minilm: {what} not found at {path}; fetch it with `canao assets fetch` "
            "(this script never downloads)"
        )
    return path


def load_reviews(path):
    """Every fresh / rotten snippet (stripped, non-empty) in file order; 1 = fresh."""
    with bz2.open(path, "rb") as f:
        text = f.read().decode("utf-8")
    texts, labels = [], []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        cat = row.get("category")
        if cat not in ("fresh", "rotten"):
            continue
        t = (row.get("text") or "").strip()
        if t:
            texts.append(t)
            labels.append(1 if cat == "fresh" else 0)
    return texts, labels


def load_tokenizer(model_dir):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(need(os.path.join(model_dir, "tokenizer.json"), "MiniLM tokenizer"))
    tok.no_padding()
    tok.no_truncation()  # the file truncates to 128; length is decided below, as canao does
    return tok


def encode_all(tok, texts, max_tokens):
    """[CLS] ... [SEP] ids; longer texts are cut to max_tokens keeping the closing [SEP]."""
    out = []
    for enc in tok.encode_batch(texts, add_special_tokens=True):
        ids, types = list(enc.ids), list(enc.type_ids)
        if len(ids) > max_tokens:
            sep = ids[-1]
            ids, types = ids[:max_tokens], types[:max_tokens]
            ids[-1] = sep
        out.append((ids, types))
    return out


def make_split(n, seed):
    """A seeded 80/10/10 split (for testing only: the real comparison uses canao's split.json)."""
    held = int(n * 0.1)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return {
        "train": sorted(order[2 * held :]),
        "validation": sorted(order[:held]),
        "test": sorted(order[held : 2 * held]),
        "max_tokens": None,
    }


def lr_at(step, total, lr, warmup):
    """canao's schedule (trainer.rs `lr_at`) for 0-based optimiser step `step` of `total`."""
    warm = int(round(warmup * total))  # Rust f64::round: half away from zero; total*0.1 is rarely .5
    s = step + 1
    if s <= warm:
        return lr * s / warm
    left = max(total - s, 0) / max(total - warm, 1)
    return lr * max(left, 0.0)


def bucketed(items, batch, length, rng, bucket=50):
    """Shuffle, sort buckets of batch*bucket by length, cut into batches, shuffle the batches."""
    order = list(items)
    rng.shuffle(order)
    batches = []
    for b in range(0, len(order), batch * bucket):
        chunk = sorted(order[b : b + batch * bucket], key=length)  # stable, like sort_by_key
        batches.extend(chunk[i : i + batch] for i in range(0, len(chunk), batch))
    rng.shuffle(batches)
    return batches


def build_model(model_dir, dropout, seed):
    import torch
    import transformers
    from transformers import BertConfig, BertModel

    transformers.logging.set_verbosity_error()  # the load report flags the unused pooler: expected
    transformers.logging.disable_progress_bar()
    need(os.path.join(model_dir, "config.json"), "MiniLM config")
    need(os.path.join(model_dir, "model.safetensors"), "MiniLM weights")
    config = BertConfig.from_pretrained(model_dir, local_files_only=True)
    config.hidden_dropout_prob = dropout
    config.attention_probs_dropout_prob = dropout

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = BertModel.from_pretrained(
                model_dir, config=config, add_pooling_layer=False, local_files_only=True
            )
            self.drop = torch.nn.Dropout(dropout)
            self.head = torch.nn.Linear(config.hidden_size, 2)
            g = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                self.head.weight.normal_(0.0, 0.02, generator=g)
                self.head.bias.zero_()

        def forward(self, ids, types, mask):
            h = self.bert(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            mean = (h * m).sum(1) / m.sum(1)
            return self.head(self.drop(mean))

    return Classifier()


def tensors(encoded, items):
    import torch

    seq = max(1, max(len(encoded[i][0]) for i in items))
    ids = torch.zeros(len(items), seq, dtype=torch.long)
    types = torch.zeros(len(items), seq, dtype=torch.long)
    mask = torch.zeros(len(items), seq, dtype=torch.long)
    for r, i in enumerate(items):
        a, t = encoded[i]
        ids[r, : len(a)] = torch.tensor(a)
        types[r, : len(t)] = torch.tensor(t)
        mask[r, : len(a)] = 1
    return ids, types, mask


def accuracy(model, encoded, labels, items, eval_batch=64):
    import torch

    if not items:
        return float("nan")
    model.eval()
    order = sorted(items, key=lambda i: len(encoded[i][0]))
    right = 0
    with torch.inference_mode():
        for b in range(0, len(order), eval_batch):
            chunk = order[b : b + eval_batch]
            pred = model(*tensors(encoded, chunk)).argmax(-1).tolist()
            right += sum(int(p == labels[i]) for p, i in zip(pred, chunk))
    model.train()
    return right / len(items)


def make_optimizer(model, args):
    import torch

    # Decay on ALL parameters (biases and LayerNorms too): burn's AdamW decays every parameter.
    return torch.optim.AdamW(
        model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=args.weight_decay
    )


def train_step(model, opt, batch, y, clip):
    import torch

    loss = torch.nn.functional.cross_entropy(model(*batch), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss


def versions():
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__}


def bench_step(args, model_dir):
    import torch

    torch.manual_seed(args.seed)
    model = build_model(model_dir, args.dropout, args.seed)
    model.train()
    opt = make_optimizer(model, args)
    g = torch.Generator().manual_seed(args.seed)
    vocab = model.bert.config.vocab_size
    b, s = args.batch, args.bench_seq
    batch = (
        torch.randint(0, vocab, (b, s), generator=g),
        torch.zeros(b, s, dtype=torch.long),
        torch.ones(b, s, dtype=torch.long),
    )
    y = torch.randint(0, 2, (b,), generator=g)
    times = []
    for k in range(args.bench_warmup + args.bench_runs):
        t = time.perf_counter()
        train_step(model, opt, batch, y, args.clip_norm).item()
        dt = time.perf_counter() - t
        if k >= args.bench_warmup:
            times.append(dt)
        log(f"bench-step {k + 1}/{args.bench_warmup + args.bench_runs}: {dt:.3f} s")
    med = statistics.median(times)
    return {
        "runtime": "pytorch",
        "bench": "train-step",
        "threads": torch.get_num_threads(),
        "batch": b,
        "seq": s,
        "median_step_s": med,
        "min_step_s": min(times),
        "max_step_s": max(times),
        "runs": len(times),
        "warmup": args.bench_warmup,
        "samples_per_s": b / med,
        "attn_implementation": model.bert.config._attn_implementation,
        **versions(),
    }


def train(args, model_dir):
    import torch

    corpus = need(os.path.join(canao_home(), "rotten-tomatoes", CORPUS), "Rotten Tomatoes corpus")
    texts, labels = load_reviews(corpus)
    log(f"corpus: {len(texts)} snippets ({sum(labels)} fresh) from {corpus}")

    if args.split:
        with open(args.split) as f:
            split = json.load(f)
        source = args.split
    else:
        split = make_split(len(texts), args.split_seed)
        source = f"--make-split (seed {args.split_seed})"
    max_tokens = args.max_tokens or split.get("max_tokens") or 64
    parts = {}
    for name, limit in (("train", args.train_limit), ("validation", args.validation_limit), ("test", args.test_limit)):
        items = [int(i) for i in split[name]]
        bad = [i for i in items if not 0 <= i < len(texts)]
        if bad:
            sys.exit(f"train_minilm: split {name} index {bad[0]} outside 0..{len(texts)}")
        if limit is not None:
            if not 0 < limit <= len(items):
                sys.exit(f"train_minilm: --{name}-limit {limit}: the split has {len(items)} (1..={len(items)})")
            items = items[:limit]
        parts[name] = items
    if args.write_split:
        with open(args.write_split, "w") as f:
            json.dump({**parts, "max_tokens": max_tokens, "source": source}, f)

    tok = load_tokenizer(model_dir)
    encoded = encode_all(tok, texts, max_tokens)
    log(f"split: {', '.join(f'{k} {len(v)}' for k, v in parts.items())}; max_tokens {max_tokens}")

    torch.manual_seed(args.seed)
    model = build_model(model_dir, args.dropout, args.seed)
    model.train()
    opt = make_optimizer(model, args)

    def epoch_batches(epoch):
        rng = random.Random(args.seed * 1_000_003 + epoch)
        return bucketed(parts["train"], args.batch, lambda i: len(encoded[i][0]), rng)

    per_epoch = len(epoch_batches(0))
    total = per_epoch * args.epochs
    step, best_val, best_epoch, best_state, stale, stopped_early = 0, None, None, None, 0, False
    history = []
    started = time.perf_counter()
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        train_s = 0.0
        loss_sum = samples = 0
        for items in epoch_batches(epoch):
            lr = lr_at(step, total, args.lr, args.warmup)
            for group in opt.param_groups:
                group["lr"] = lr
            ts = time.perf_counter()
            batch = tensors(encoded, items)
            y = torch.tensor([labels[i] for i in items])
            loss = train_step(model, opt, batch, y, args.clip_norm).item()
            train_s += time.perf_counter() - ts
            if not math.isfinite(loss):
                sys.exit(f"train_minilm: non-finite loss {loss} at step {step}")
            step += 1
            loss_sum += loss * len(items)
            samples += len(items)
            if step % args.log_every == 0 or step == total:
                log(
                    f"epoch {epoch + 1}/{args.epochs} step {step}/{total} loss {loss:.4f} lr {lr:.2e} "
                    f"{samples / (time.perf_counter() - t0):.1f} samples/s"
                )
        val = accuracy(model, encoded, labels, parts["validation"])
        wall = time.perf_counter() - t0
        history.append(
            {
                "epoch": epoch,
                "train_loss": loss_sum / max(samples, 1),
                "validation_accuracy": val,
                # canao's definition: train samples over the epoch's wall time incl. validation
                "samples_per_s": samples / max(wall, 1e-9),
                "train_samples_per_s": samples / max(train_s, 1e-9),
                "wall_s": wall,
            }
        )
        log(f"epoch {epoch + 1}: validation accuracy {val:.4f} ({wall:.1f} s)")
        if best_val is None or val > best_val:
            best_val, best_epoch, stale = val, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
        if stale >= args.patience and epoch + 1 < args.epochs:
            stopped_early = True
            log(f"early stop: no validation gain for {stale} epochs")
            break
    model.load_state_dict(best_state)
    test = accuracy(model, encoded, labels, parts["test"])
    wall_s = time.perf_counter() - started
    return {
        "runtime": "pytorch",
        "model": "minilm",
        "task": "rotten-tomatoes",
        "seed": args.seed,
        "split": source,
        "split_sizes": {k: len(v) for k, v in parts.items()},
        "max_tokens": max_tokens,
        "test_accuracy": test,
        "best_validation_accuracy": best_val,
        "best_epoch": best_epoch,
        "stopped_early": stopped_early,
        "epochs_run": len(history),
        "steps": step,
        "validation_curve": [h["validation_accuracy"] for h in history],
        "history": history,
        "wall_s": wall_s,
        "samples_per_s": sum(h["samples_per_s"] for h in history) / max(len(history), 1),
        "train_samples_per_s": sum(h["train_samples_per_s"] for h in history) / max(len(history), 1),
        "threads": torch.get_num_threads(),
        "config": {
            k: getattr(args, k)
            for k in ("epochs", "batch", "lr", "weight_decay", "warmup", "clip_norm", "dropout", "patience")
        },
        "attn_implementation": model.bert.config._attn_implementation,
        **versions(),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", help="canao's split.json (train / validation / test indices, max_tokens)")
    p.add_argument("--make-split", action="store_true", help="testing only: a seeded 80/10/10 split")
    p.add_argument("--split-seed", type=int, default=0, help="seed of --make-split")
    p.add_argument("--write-split", metavar="PATH", help="write the split used (after limits) as JSON")
    p.add_argument("--train-limit", type=int, help="keep the first N train items (quick runs)")
    p.add_argument("--validation-limit", type=int)
    p.add_argument("--test-limit", type=int)
    p.add_argument("--max-tokens", type=int, help="default: split.json's max_tokens, else 64")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.1, help="share of steps warming up linearly")
    p.add_argument("--clip-norm", type=float, default=1.0, help="global gradient-norm clip")
    p.add_argument("--dropout", type=float, default=0.1, help="hidden, attention and head dropout")
    p.add_argument("--patience", type=int, default=2, help="epochs without validation gain before stopping")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--bench-step", action="store_true", help="time one training step instead of training")
    p.add_argument("--bench-seq", type=int, default=64)
    p.add_argument("--bench-warmup", type=int, default=3)
    p.add_argument("--bench-runs", type=int, default=10)
    args = p.parse_args()
    if not args.bench_step and bool(args.split) == args.make_split:
        p.error("give exactly one of --split PATH and --make-split (or --bench-step)")

    import torch

    torch.set_num_threads(args.threads)
    model_dir = os.path.join(canao_home(), "minilm")
    need(model_dir, "MiniLM asset")
    result = bench_step(args, model_dir) if args.bench_step else train(args, model_dir)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
