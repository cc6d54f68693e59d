//! PGD topology attack (Xu et al. 2019): gradient ascent on the relaxed perturbation s, projected
//! onto {s in [0, 1], sum s <= budget}, then the discrete flips drawn from Bernoulli(s) (the best
//! of several draws within budget). Over more pairs than a block holds, the candidates with
//! (near) zero mass are resampled after each step during the first 80 % of the steps, as PR-BCD.

use rand::Rng;

use super::relaxed::Relaxed;
use super::{AttackConfig, Candidates, Objective};

pub fn run(config: &AttackConfig, objective: &Objective, flips: usize, rng: &mut impl Rng) -> Vec<(usize, usize)> {
    let graph = objective.graph;
    let mut relaxed = Relaxed::new(Candidates::new(graph, config.block, rng));
    for t in 0..config.pgd_steps {
        let (_, grad) = objective.relaxed_grad(&relaxed.candidates, &relaxed.s);
        relaxed.ascend(&grad, config.pgd_lr, flips);
        if t < config.pgd_steps * 4 / 5 {
            relaxed.resample(graph, config.block, rng);
        }
    }
    discretise(config, objective, &relaxed, flips, rng)
}

/// The discrete flips: of `config.samples` Bernoulli(s) draws within budget, and the top-budget
/// pairs by s, the one with the highest loss.
pub(super) fn discretise(
    config: &AttackConfig,
    objective: &Objective,
    relaxed: &Relaxed,
    flips: usize,
    rng: &mut impl Rng,
) -> Vec<(usize, usize)> {
    let s = &relaxed.s;
    let support: Vec<usize> = (0..s.len()).filter(|&k| s[k] > 0.0).collect();
    let mut top = support.clone();
    top.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    top.truncate(flips);
    let mut draws = vec![top];
    for _ in 0..config.samples {
        let draw: Vec<usize> = support
            .iter()
            .copied()
            .filter(|&k| rng.random::<f32>() < s[k])
            .collect();
        if draw.len() <= flips {
            draws.push(draw);
        }
    }
    let mut best = (f32::NEG_INFINITY, Vec::new());
    for d in &draws {
        let pairs: Vec<(usize, usize)> = d.iter().map(|&k| relaxed.candidates.pairs[k]).collect();
        let loss = objective.flipped_loss(&pairs);
        if loss > best.0 {
            best = (loss, pairs);
        }
    }
    best.1
}
