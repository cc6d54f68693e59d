//! What an attack maximises: the cross-entropy of a fixed model on target nodes, over the
//! clean graph perturbed by relaxed or discrete flips.

use rayon::prelude::{IndexedParallelIterator, IntoParallelRefIterator, ParallelIterator};

use crate::adjacency::Adjacency;
use crate::dataset::Dataset;
use crate::edge_grad::EdgeGrad;
use crate::features::Features;
use crate::gcn::Gcn;
use crate::graph::Graph;
use crate::loss::cross_entropy;
use crate::train::labels_of;

use super::Candidates;
use super::relaxed;

#[derive(Debug, Clone)]
pub struct Objective<'a> {
    pub model: &'a Gcn,
    pub features: &'a Features,
    pub graph: &'a Graph,
    pub nodes: &'a [usize],
    /// One per node of `nodes`.
    pub labels: Vec<usize>,
}

impl<'a> Objective<'a> {
    /// The loss of `model` on the test nodes of `data`, with their true labels (the white-box
    /// attacker of Xu et al. and DeepRobust).
    pub fn test_nodes(model: &'a Gcn, data: &'a Dataset) -> Self {
        Self {
            model,
            features: &data.features,
            graph: &data.graph,
            nodes: &data.test,
            labels: labels_of(data, &data.test),
        }
    }

    pub fn loss_on(&self, adj: &Adjacency) -> f32 {
        let z = self.model.logits(adj, self.features);
        cross_entropy(&z, self.model.dims.classes, self.nodes, &self.labels).0
    }

    pub fn relaxed_loss(&self, candidates: &Candidates, s: &[f32]) -> f32 {
        self.loss_on(&relaxed::adjacency(self.graph, candidates, s))
    }

    /// The loss after flipping `flips` (distinct pairs of the graph).
    pub fn flipped_loss(&self, flips: &[(usize, usize)]) -> f32 {
        let g = self.graph.flipped(flips).expect("attacks flip distinct in-range pairs");
        self.loss_on(&Adjacency::new(&g))
    }

    /// The loss at `s` and its gradient with respect to each candidate's s.
    pub fn relaxed_grad(&self, candidates: &Candidates, s: &[f32]) -> (f32, Vec<f32>) {
        let adj = relaxed::adjacency(self.graph, candidates, s);
        let pass = self.model.forward::<rand_chacha::ChaCha8Rng>(&adj, self.features, None);
        let (loss, dz) = cross_entropy(&pass.z, self.model.dims.classes, self.nodes, &self.labels);
        let (_, g) = self.model.backward(&adj, self.features, pass, dz);
        let grad = EdgeGrad::new(&adj, g);
        let ds = candidates
            .pairs
            .par_iter()
            .zip(candidates.is_edge.par_iter())
            .map(|(&(u, v), &edge)| if edge { -grad.pair(u, v) } else { grad.pair(u, v) })
            .collect();
        (loss, ds)
    }
}
