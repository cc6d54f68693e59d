//! The candidate pairs an attack may flip: all n(n-1)/2 pairs when they fit in a block, else a
//! random sample drawn by pair index (resampled as the attack goes, PR-BCD style).

use std::collections::HashSet;

use rand::Rng;

use crate::graph::{Graph, pair_at};

#[derive(Debug, Clone)]
pub struct Candidates {
    pub pairs: Vec<(usize, usize)>,
    /// Whether each pair is an edge of the clean graph (a flip removes it).
    pub is_edge: Vec<bool>,
}

impl Candidates {
    /// Every pair if the graph has at most `block` of them, else `block` distinct random pairs.
    pub fn new(graph: &Graph, block: usize, rng: &mut impl Rng) -> Self {
        let mut c = Self {
            pairs: Vec::new(),
            is_edge: Vec::new(),
        };
        if graph.pair_count() <= block as u64 {
            let n = graph.nodes();
            c.pairs = (0..n).flat_map(|u| (u + 1..n).map(move |v| (u, v))).collect();
            c.is_edge = c.pairs.iter().map(|&(u, v)| graph.has_edge(u, v)).collect();
        } else {
            c.refill(graph, block, rng);
        }
        c
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
    /// Whether these are all the graph's pairs (nothing to resample).
    pub fn is_complete(&self, graph: &Graph) -> bool {
        self.pairs.len() as u64 == graph.pair_count()
    }

    /// Keeps the candidates for which `keep` holds (with their index), then tops up to `block`
    /// with fresh random pairs; returns the old index of each kept candidate, in order.
    pub fn retain_and_refill(
        &mut self,
        graph: &Graph,
        block: usize,
        keep: impl Fn(usize) -> bool,
        rng: &mut impl Rng,
    ) -> Vec<usize> {
        let kept: Vec<usize> = (0..self.len()).filter(|&k| keep(k)).collect();
        self.pairs = kept.iter().map(|&k| self.pairs[k]).collect();
        self.is_edge = kept.iter().map(|&k| self.is_edge[k]).collect();
        self.refill(graph, block, rng);
        kept
    }

    fn refill(&mut self, graph: &Graph, block: usize, rng: &mut impl Rng) {
        let target = (block as u64).min(graph.pair_count()) as usize;
        let mut seen: HashSet<(usize, usize)> = self.pairs.iter().copied().collect();
        while self.pairs.len() < target {
            let p = pair_at(graph.nodes(), rng.random_range(0..graph.pair_count()));
            if seen.insert(p) {
                self.pairs.push(p);
                self.is_edge.push(graph.has_edge(p.0, p.1));
            }
        }
    }
}
