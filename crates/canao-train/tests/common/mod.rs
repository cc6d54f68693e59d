//! Shared by the training tests: tiny models, random weights, IR runs.

#![allow(dead_code)]

use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor};
use canao_ir::builders::{BertArch, BertLayer};
use canao_ir::{Executable, Graph, Runtime, Schedule, Weights};
use std::path::Path;

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
    canao_interp::testing::random_weights(g, &mut ChaCha8Rng::seed_from_u64(seed))
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
