//! Random weights and inputs for any graph (seeded, so a case reproduces): what every backend's
//! tests check against this interpreter with, and what benchmarks and the latency model's
//! calibration time graphs on.

use std::collections::BTreeMap;

use canao_ir::{Graph, ParamValue, Sparsity, Weights};
use canao_tensor::{Csr, Tensor};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};

/// Dense parameters uniform in [-0.5, 0.5); CSR parameters with exactly their declared number
/// of entries at distinct random positions.
pub fn random_weights(g: &Graph, rng: &mut impl RngCore) -> Weights {
    let mut w = Weights::new();
    for (name, spec) in g.params() {
        if let Sparsity::Csr { nnz } = spec.sparsity {
            let (rows, cols) = (spec.shape[0], spec.shape[1]);
            let mut cells: Vec<usize> = (0..rows * cols).collect();
            cells.shuffle(rng);
            let trip = cells[..nnz]
                .iter()
                .map(|&c| (c / cols, c % cols, rng.random_range(-1.0..1.0)))
                .collect();
            w.insert(
                name.clone(),
                ParamValue::Csr(Csr::from_triplets(rows, cols, trip).expect("in range")),
            );
            continue;
        }
        let n: usize = spec.shape.iter().product();
        let data = (0..n).map(|_| rng.random_range(-0.5f32..0.5)).collect();
        w.insert_dense(
            name.clone(),
            Tensor::new(spec.shape.clone(), data).expect("sizes match"),
        );
    }
    w
}

/// Inputs for a graph: BERT's ids below `vocab`, token types 0/1, an attention mask with the
/// first token always kept; anything else uniform in [-1, 1).
pub fn random_inputs(g: &Graph, rng: &mut impl RngCore, vocab: usize) -> BTreeMap<String, Tensor> {
    g.inputs_of_graph()
        .into_iter()
        .map(|(name, _, ty)| {
            let n = ty.elements();
            let data: Vec<f32> = match name.as_str() {
                "input_ids" => (0..n).map(|_| rng.random_range(0..vocab) as f32).collect(),
                "token_type_ids" => (0..n).map(|_| rng.random_range(0..2) as f32).collect(),
                "attention_mask" => (0..n)
                    .map(|i| if i == 0 || rng.random_bool(0.7) { 1.0 } else { 0.0 })
                    .collect(),
                _ => (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect(),
            };
            (name, Tensor::new(ty.shape, data).expect("sizes match"))
        })
        .collect()
}
