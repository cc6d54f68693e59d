//! Greedy flips (ALGORITHMS.md §10): in each round, score every candidate not yet flipped by the
//! relaxed gradient at the current discrete perturbation (the first-order loss increase of
//! flipping it) and flip the top ones; rounds spend the budget in equal parts. Flips are never
//! undone. Without every pair as a candidate, each round draws a fresh block (keeping the flipped).

use std::collections::HashSet;

use rand::Rng;

use super::{AttackConfig, Candidates, Objective};

pub fn run(config: &AttackConfig, objective: &Objective, flips: usize, rng: &mut impl Rng) -> Vec<(usize, usize)> {
    let graph = objective.graph;
    let per_round = flips.div_ceil(config.greedy_rounds.max(1)).max(1);
    let mut candidates = Candidates::new(graph, config.block, rng);
    let mut chosen: Vec<(usize, usize)> = Vec::new();
    while chosen.len() < flips {
        let set: HashSet<(usize, usize)> = chosen.iter().copied().collect();
        if !candidates.is_complete(graph) && !chosen.is_empty() {
            // A fresh block; the flipped pairs stay candidates so the gradient sees them at s = 1.
            let flipped: Vec<bool> = candidates.pairs.iter().map(|p| set.contains(p)).collect();
            candidates.retain_and_refill(graph, config.block, |k| flipped[k], rng);
        }
        let s: Vec<f32> = candidates
            .pairs
            .iter()
            .map(|p| f32::from(u8::from(set.contains(p))))
            .collect();
        let (_, grad) = objective.relaxed_grad(&candidates, &s);
        let mut gains: Vec<(f32, usize)> = (0..candidates.len())
            .filter(|&k| s[k] == 0.0 && grad[k] > 0.0)
            .map(|k| (grad[k], k))
            .collect();
        if gains.is_empty() {
            break;
        }
        let take = per_round.min(flips - chosen.len()).min(gains.len());
        gains.select_nth_unstable_by(take - 1, |a, b| b.0.total_cmp(&a.0));
        chosen.extend(gains[..take].iter().map(|&(_, k)| candidates.pairs[k]));
    }
    chosen
}
