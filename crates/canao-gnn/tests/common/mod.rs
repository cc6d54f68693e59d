#![allow(dead_code)]
use std::path::PathBuf;

use canao_gnn::features::Features;
use canao_gnn::{Dataset, Graph};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `../shared/datasets/NAME.safetensors` beside the checkout.
pub fn shared_dataset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../../shared/datasets/{name}.safetensors"))
}

/// A random graph of `n` nodes with about `edges` edges, `f` binary features and `c` classes,
/// every node labelled, split in thirds.
pub fn random_dataset(n: usize, edges: usize, f: usize, c: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pairs = std::collections::BTreeSet::new();
    while pairs.len() < edges {
        let (u, v) = (rng.random_range(0..n), rng.random_range(0..n));
        if u != v {
            pairs.insert((u.min(v), u.max(v)));
        }
    }
    let bits: Vec<u8> = (0..n * f).map(|_| u8::from(rng.random::<f32>() < 0.3)).collect();
    let nodes: Vec<usize> = (0..n).collect();
    let third = n / 3;
    Dataset {
        name: "random".into(),
        graph: Graph::new(n, pairs).unwrap(),
        features: Features::from_dense_binary(n, f, &bits),
        labels: (0..n).map(|_| Some(rng.random_range(0..c))).collect(),
        classes: c,
        train: nodes[..third].to_vec(),
        val: nodes[third..2 * third].to_vec(),
        test: nodes[2 * third..].to_vec(),
        edge_layout: canao_gnn::dataset::EdgeLayout::Rows,
    }
}
