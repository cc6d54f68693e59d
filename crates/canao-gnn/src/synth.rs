//! A synthetic citation graph of a chosen size, for scale tests where the real graph is not
//! shipped (PubMed: 19,717 nodes, 44,324 edges, 500 features, 3 classes). Degrees follow a power
//! law (Chung-Lu: an edge end is node i with probability proportional to its weight
//! w_i ~ (i + 1)^(-1 / (gamma - 1))); an edge stays inside its first end's class with
//! probability `homophily`; features are bags of words drawn partly from a class's own words.
//! The split is Planetoid's shape: 20 training nodes per class, 500 validation, 1,000 test.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, EdgeLayout};
use crate::error::{Result, config_err};
use crate::features::Features;
use crate::graph::Graph;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthConfig {
    pub nodes: usize,
    pub edges: usize,
    pub features: usize,
    pub classes: usize,
    /// Power-law exponent of the degree distribution.
    pub gamma: f64,
    /// Share of edges inside a class (PubMed's edge homophily is about 0.80).
    pub homophily: f64,
    /// Words per node, and the share of them drawn from the node's class's own words.
    pub words: usize,
    pub class_words: f64,
}

impl Default for SynthConfig {
    /// PubMed's size.
    fn default() -> Self {
        Self {
            nodes: 19_717,
            edges: 44_324,
            features: 500,
            classes: 3,
            gamma: 3.0,
            homophily: 0.8,
            words: 50,
            class_words: 0.1,
        }
    }
}

impl SynthConfig {
    fn check(&self) -> Result<()> {
        if self.classes < 2 || self.nodes < self.classes * 20 + 1500 {
            return config_err(
                "nodes",
                format!(
                    "{} nodes cannot hold 20 training nodes per class of {} plus 1,500 validation and test",
                    self.nodes, self.classes
                ),
            );
        }
        let pairs = self.nodes as f64 * (self.nodes as f64 - 1.0) / 2.0;
        if self.edges == 0 || self.edges as f64 > 0.1 * pairs {
            return config_err(
                "edges",
                format!("{} edges: between 1 and a tenth of the {pairs} pairs", self.edges),
            );
        }
        if self.gamma.is_nan()
            || self.gamma <= 1.0
            || !(0.0..=1.0).contains(&self.homophily)
            || !(0.0..=1.0).contains(&self.class_words)
        {
            return config_err("gamma / homophily / class_words", "gamma > 1, shares in [0, 1]");
        }
        if self.features < self.classes || self.words == 0 || self.words > self.features {
            return config_err("features / words", "1 <= words <= features, features >= classes");
        }
        Ok(())
    }

    pub fn generate(&self, seed: u64) -> Result<Dataset> {
        self.check()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = self.nodes;
        let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..self.classes)).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        // Weights by a random rank, so that degree is independent of node id and class.
        let mut weight = vec![0.0; n];
        for (rank, &i) in order.iter().enumerate() {
            weight[i] = ((rank + 1) as f64).powf(-1.0 / (self.gamma - 1.0));
        }
        let by_class: Vec<Sampler> = (0..self.classes)
            .map(|c| Sampler::new((0..n).filter(|&i| labels[i] == c).map(|i| (i, weight[i])).collect()))
            .collect();
        let all = Sampler::new((0..n).map(|i| (i, weight[i])).collect());
        let mut edges = BTreeSet::new();
        while edges.len() < self.edges {
            let u = all.draw(&mut rng);
            let v = if rng.random::<f64>() < self.homophily {
                by_class[labels[u]].draw(&mut rng)
            } else {
                all.draw(&mut rng)
            };
            if u != v {
                edges.insert((u.min(v), u.max(v)));
            }
        }
        let features = self.features(&labels, &mut rng);
        let (train, val, test) = split(&labels, self.classes, &mut rng);
        Ok(Dataset {
            name: "synthetic".into(),
            graph: Graph::new(n, edges)?,
            features,
            labels: labels.into_iter().map(Some).collect(),
            classes: self.classes,
            train,
            val,
            test,
            edge_layout: EdgeLayout::Rows,
        })
    }

    /// Each class owns a contiguous share of the vocabulary; a node's words come from its
    /// class's share with probability `class_words`, else from the whole vocabulary.
    fn features(&self, labels: &[usize], rng: &mut impl Rng) -> Features {
        let f = self.features;
        let share = f / self.classes;
        let mut bits = vec![0u8; labels.len() * f];
        for (i, &c) in labels.iter().enumerate() {
            for _ in 0..self.words {
                let w = if rng.random::<f64>() < self.class_words {
                    c * share + rng.random_range(0..share)
                } else {
                    rng.random_range(0..f)
                };
                bits[i * f + w] = 1;
            }
        }
        Features::from_dense_binary(labels.len(), f, &bits)
    }
}

/// 20 training nodes per class, then 500 validation and 1,000 test nodes, all disjoint.
fn split(labels: &[usize], classes: usize, rng: &mut impl Rng) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.shuffle(rng);
    let mut train = Vec::new();
    let mut per_class = vec![0; classes];
    let mut rest = Vec::new();
    for i in order {
        if per_class[labels[i]] < 20 {
            per_class[labels[i]] += 1;
            train.push(i);
        } else {
            rest.push(i);
        }
    }
    let (mut val, mut test) = (rest[..500].to_vec(), rest[500..1500].to_vec());
    train.sort_unstable();
    val.sort_unstable();
    test.sort_unstable();
    (train, val, test)
}

/// Draws an item with probability proportional to its weight (binary search on the cumulative
/// sums).
struct Sampler {
    items: Vec<usize>,
    cumulative: Vec<f64>,
}

impl Sampler {
    fn new(weighted: Vec<(usize, f64)>) -> Self {
        let mut total = 0.0;
        let cumulative = weighted.iter().map(|&(_, w)| {
            total += w;
            total
        });
        let cumulative: Vec<f64> = cumulative.collect();
        Self {
            items: weighted.into_iter().map(|(i, _)| i).collect(),
            cumulative,
        }
    }

    fn draw(&self, rng: &mut impl Rng) -> usize {
        let total = *self.cumulative.last().expect("a class with nodes");
        let x = rng.random::<f64>() * total;
        let k = self.cumulative.partition_point(|&c| c <= x).min(self.items.len() - 1);
        self.items[k]
    }
}
