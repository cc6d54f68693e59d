//! A perturbation relaxed to s in [0, 1] per candidate pair: the edge weight is
//! a + (1 - 2a) s for clean adjacency a, so s = 1 is a flip and s = 0 leaves the pair alone.
//! Projected ascent on s is shared by PGD, the zeroth-order attack and robust training.

use std::collections::HashMap;

use crate::adjacency::Adjacency;
use crate::graph::Graph;

use super::Candidates;

/// Mass below which a sampled candidate is dropped for a fresh one.
const DROP_BELOW: f32 = 1e-3;

#[derive(Debug, Clone)]
pub struct Relaxed {
    pub candidates: Candidates,
    pub s: Vec<f32>,
    /// Ascent steps taken (the step size decays as 1 / sqrt(t + 1)).
    steps: usize,
}

impl Relaxed {
    pub fn new(candidates: Candidates) -> Self {
        Self {
            s: vec![0.0; candidates.len()],
            candidates,
            steps: 0,
        }
    }

    pub fn steps(&self) -> usize {
        self.steps
    }

    pub fn adjacency(&self, graph: &Graph) -> Adjacency {
        adjacency(graph, &self.candidates, &self.s)
    }

    /// PR-BCD's resampling: candidates with (near) zero mass make way for fresh random pairs;
    /// nothing to do when every pair is a candidate.
    pub fn resample(&mut self, graph: &Graph, block: usize, rng: &mut impl rand::Rng) {
        if self.candidates.is_complete(graph) {
            return;
        }
        let s = &self.s;
        let kept = self
            .candidates
            .retain_and_refill(graph, block, |k| s[k] > DROP_BELOW, rng);
        let mut next: Vec<f32> = kept.iter().map(|&k| self.s[k]).collect();
        next.resize(self.candidates.len(), 0.0);
        self.s = next;
    }

    /// s += base_lr / sqrt(t + 1) * grad, then projected onto the budget.
    pub fn ascend(&mut self, grad: &[f32], base_lr: f32, budget: usize) {
        let lr = base_lr / ((self.steps + 1) as f32).sqrt();
        self.s.iter_mut().zip(grad).for_each(|(s, g)| *s += lr * g);
        project(&mut self.s, budget as f32);
        self.steps += 1;
    }
}

/// The normalised adjacency of the clean graph perturbed by `s` over `candidates`.
pub fn adjacency(graph: &Graph, candidates: &Candidates, s: &[f32]) -> Adjacency {
    let mut removed: HashMap<(usize, usize), f32> = HashMap::new();
    let mut added = Vec::new();
    for ((&p, &edge), &sk) in candidates.pairs.iter().zip(&candidates.is_edge).zip(s) {
        if sk > 0.0 {
            if edge {
                removed.insert(p, sk);
            } else {
                added.push((p.0, p.1, sk));
            }
        }
    }
    let kept = graph
        .edges()
        .map(|(u, v)| (u, v, 1.0 - removed.get(&(u, v)).copied().unwrap_or(0.0)));
    Adjacency::weighted(graph.nodes(), kept.chain(added))
}

/// Euclidean projection onto {s in [0, 1]^m : sum s <= budget}: clamp, and if the mass is over
/// budget, shift by the mu (found by bisection) at which sum clamp(s - mu, 0, 1) = budget.
pub(super) fn project(s: &mut [f32], budget: f32) {
    let mass = |mu: f32, s: &[f32]| s.iter().map(|&v| (v - mu).clamp(0.0, 1.0)).sum::<f32>();
    if mass(0.0, s) > budget {
        let (mut lo, mut hi) = (
            s.iter().copied().fold(f32::INFINITY, f32::min) - 1.0,
            s.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        );
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if mass(mid, s) > budget {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        s.iter_mut().for_each(|v| *v = (*v - hi).clamp(0.0, 1.0));
    } else {
        s.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    }
}

#[cfg(test)]
mod tests {
    use super::project;

    #[test]
    fn projection_meets_the_budget() {
        let mut s = vec![0.9, 0.8, -0.2, 1.7, 0.1];
        project(&mut s, 1.5);
        let mass: f32 = s.iter().sum();
        assert!((mass - 1.5).abs() < 1e-4, "{mass}");
        assert!(s.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // Order is kept: the largest input keeps the most mass.
        assert!(s[3] >= s[0] && s[0] >= s[1] && s[2] == 0.0);
        let mut under = vec![0.2, 0.3];
        project(&mut under, 5.0);
        assert_eq!(under, vec![0.2, 0.3]);
    }
}
