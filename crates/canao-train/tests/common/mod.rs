//! Shared by the training tests: tiny models, random weights, IR runs.

#![allow(dead_code)]

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor};
use canao_ir::builders::{BertArch, BertLayer};
use canao_ir::{Executable, Graph, Runtime, Schedule, Weights};
use canao_models::Encoded;
use canao_train::data::{ImageSet, TextSet};
use std::path::Path;
use std::path::PathBuf;

use canao_train::{Constraints, Learner, Outcome, TokenBatch, TrainConfig, train};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two layers of different widths (a projection between them), heads of 4.
pub fn tiny_bert() -> BertArch {
    BertArch {
        vocab: 23,
        max_positions: 40,
        type_vocab: 2,
        seq: 1,
        hidden: 12,
        head_dim: 4,
        layer_norm_eps: 1e-12,
        layers: vec![
            BertLayer {
                hidden: 12,
                heads: 3,
                ffn: 20,
            },
            BertLayer {
                hidden: 8,
                heads: 2,
                ffn: 10,
            },
        ],
    }
}

pub fn weights_for(g: &Graph, seed: u64) -> Weights {
    canao_interp::random::random_weights(g, &mut ChaCha8Rng::seed_from_u64(seed))
}

/// A batch of `n` random sequences of length `seq`: random ids and types, masks that keep the
/// first token and about 70 % of the rest.
pub fn random_batch(n: usize, seq: usize, vocab: usize, seed: u64) -> TokenBatch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = TokenBatch {
        batch: n,
        seq,
        ids: Vec::new(),
        types: Vec::new(),
        mask: Vec::new(),
    };
    for _ in 0..n {
        for t in 0..seq {
            b.ids.push(rng.random_range(0..vocab as i64));
            b.types.push(rng.random_range(0..2));
            b.mask.push(if t == 0 || rng.random_bool(0.7) { 1.0 } else { 0.0 });
        }
    }
    b
}

/// The graph inputs of row `r` of a batch.
pub fn row_inputs(b: &TokenBatch, r: usize) -> BTreeMap<String, canao_tensor::Tensor> {
    let s = b.seq;
    let t = |v: Vec<f32>| canao_tensor::Tensor::new(vec![s], v).unwrap();
    let mut m = BTreeMap::new();
    m.insert(
        "input_ids".into(),
        t(b.ids[r * s..(r + 1) * s].iter().map(|&v| v as f32).collect()),
    );
    m.insert(
        "token_type_ids".into(),
        t(b.types[r * s..(r + 1) * s].iter().map(|&v| v as f32).collect()),
    );
    m.insert("attention_mask".into(), t(b.mask[r * s..(r + 1) * s].to_vec()));
    m
}

/// Runs `g` on `runtime` with `inputs`.
pub fn run_ir<R: Runtime>(
    runtime: &R,
    g: &Graph,
    w: &Weights,
    inputs: &BTreeMap<String, canao_tensor::Tensor>,
) -> Vec<canao_tensor::Tensor> {
    runtime
        .prepare(g, w, &Schedule { threads: 1 })
        .unwrap()
        .run(inputs)
        .unwrap()
}

/// LeNet graph `g` (built for `items.len()` images) on the CPU backend: its logits for `items`
/// of `task`'s images, flattened.
pub fn lenet_cpu_logits(task: &canao_train::ImageClassification, g: &Graph, w: &Weights, items: &[usize]) -> Vec<f32> {
    let pixels: Vec<f32> = items.iter().flat_map(|&i| task.data.image(i).to_vec()).collect();
    let mut inputs = BTreeMap::new();
    inputs.insert(
        "image".to_string(),
        canao_tensor::Tensor::new(vec![items.len(), 1, 28, 28], pixels).unwrap(),
    );
    run_ir(&canao_cpu::CpuRuntime, g, w, &inputs)[0].data().to_vec()
}

pub fn values<const D: usize>(t: &Tensor<D>) -> Vec<f32> {
    t.to_data().try_to_vec::<f32>().unwrap()
}

pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

pub fn device() -> Device {
    Device::flex().autodiff()
}

/// Trains `task` from `weights` into `dir` (or resumes there), with no progress callback.
pub fn fit<L: Learner>(
    task: &L,
    weights: &Weights,
    cfg: &TrainConfig,
    constraints: &Constraints,
    dir: &Path,
    resume: bool,
) -> canao_train::Result<Outcome<L::Model>> {
    train(
        task,
        task.load(weights).unwrap(),
        cfg,
        constraints,
        dir,
        resume,
        &mut |_| {},
    )
}

/// The digits as a token task: the 8x8 image average-pooled to 4x4 cells, each cell's level
/// (one of 6) and position in one token (1 + 6 * cell + level), after a start token 0.
pub fn digit_tokens(set: &ImageSet) -> TextSet {
    let (lo, hi) = set
        .pixels
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &p| (a.min(p), b.max(p)));
    let encoded = (0..set.len())
        .map(|i| {
            let img = set.image(i);
            let mut ids = vec![0u32];
            for cell in 0..16 {
                let (cy, cx) = (cell / 4, cell % 4);
                let mut s = 0.0;
                for y in 0..6 {
                    for x in 0..6 {
                        s += img[(2 + cy * 6 + y) * 28 + 2 + cx * 6 + x];
                    }
                }
                let level = ((s / 36.0 - lo) / (hi - lo) * 5.99) as u32;
                ids.push(1 + 6 * cell as u32 + level.min(5));
            }
            Encoded {
                type_ids: vec![0; ids.len()],
                ids,
            }
        })
        .collect();
    TextSet {
        file: PathBuf::from("digits"),
        encoded,
        labels: set.labels.clone(),
        split: set.split.clone(),
        max_tokens: 17,
    }
}

pub fn small_bert() -> BertArch {
    BertArch {
        vocab: 97,
        max_positions: 17,
        type_vocab: 2,
        seq: 1,
        hidden: 32,
        head_dim: 8,
        layer_norm_eps: 1e-12,
        layers: vec![
            BertLayer {
                hidden: 32,
                heads: 4,
                ffn: 64,
            };
            2
        ],
    }
}

/// Weights for `arch` with `classes` outputs that train quickly: BERT's N(0, 0.02) initialiser
/// would be slow to learn from in a few epochs; the interpreter's uniform +-0.5, scaled down,
/// is not (layer-norm gains 1).
pub fn small_bert_weights(arch: &BertArch, classes: usize, seed: u64) -> Weights {
    let g = arch.build_classifier(classes).unwrap();
    let mut w = weights_for(&g, seed);
    let names: Vec<String> = w.iter().map(|(n, _)| n.clone()).collect();
    for n in names {
        let mut t = w.dense(&n).unwrap().clone();
        let gain = n.ends_with(".g");
        t.data_mut()
            .iter_mut()
            .for_each(|v| *v = if gain { 1.0 } else { *v * 0.3 });
        w.insert_dense(n, t);
    }
    canao_train::add_head(&mut w, arch, classes, seed + 2);
    w
}
