//! Zeroth-order attack (ALGORITHMS.md §10): the model is a black box that answers loss queries.
//! Over a pool of candidate pairs, the gradient of the relaxed loss is estimated from q random
//! directions on the unit sphere, g = (d / (mu q)) sum_i [f(s + mu u_i) - f(s)] u_i, and s takes a
//! projected ascent step along it; the discrete flips are drawn as in PGD. The pool itself comes
//! from queries only: pairs with one end a target node whose two ends the model labels differently.

use rand::Rng;

use crate::loss::predictions;

use super::pgd::discretise;
use super::relaxed::Relaxed;
use super::{AttackConfig, Candidates, Objective};

pub fn run(config: &AttackConfig, objective: &Objective, flips: usize, rng: &mut impl Rng) -> Vec<(usize, usize)> {
    let mut relaxed = Relaxed::new(pool(config, objective, flips, rng));
    if relaxed.candidates.is_empty() {
        return Vec::new();
    }
    for _ in 0..config.zo_steps {
        zeroth_step(config, objective, &mut relaxed, flips, rng);
    }
    discretise(config, objective, &relaxed, flips, rng)
}

/// One projected ascent step along the zeroth-order estimate at the current s.
pub(crate) fn zeroth_step(
    config: &AttackConfig,
    objective: &Objective,
    relaxed: &mut Relaxed,
    flips: usize,
    rng: &mut impl Rng,
) {
    // Probes stay inside [0, 1]: a relaxed edge weight outside it is not a graph.
    let f = |x: &[f32]| {
        let inside: Vec<f32> = x.iter().map(|v| v.clamp(0.0, 1.0)).collect();
        objective.relaxed_loss(&relaxed.candidates, &inside)
    };
    let g = estimate(f, &relaxed.s, config.zo_mu, config.zo_queries.max(1), rng);
    relaxed.ascend(&g, config.zo_lr, flips);
}

/// Up to `flips * zo_pool_per_flip` distinct pairs (target, other) whose ends the model predicts
/// differently, drawn at random.
pub(crate) fn pool(config: &AttackConfig, objective: &Objective, flips: usize, rng: &mut impl Rng) -> Candidates {
    let graph = objective.graph;
    let adj = crate::adjacency::Adjacency::new(graph);
    let pred = predictions(
        &objective.model.logits(&adj, objective.features),
        objective.model.dims.classes,
    );
    let want = flips.saturating_mul(config.zo_pool_per_flip).max(1);
    let n = graph.nodes();
    let mut seen = std::collections::HashSet::new();
    let mut c = Candidates {
        pairs: Vec::new(),
        is_edge: Vec::new(),
    };
    // Give up after many misses: a tiny graph may have fewer such pairs than asked.
    let mut misses = 0;
    while c.len() < want && misses < 50 * want {
        let t = objective.nodes[rng.random_range(0..objective.nodes.len())];
        let o = rng.random_range(0..n);
        let p = (t.min(o), t.max(o));
        if t == o || pred[t] == pred[o] || !seen.insert(p) {
            misses += 1;
            continue;
        }
        c.pairs.push(p);
        c.is_edge.push(graph.has_edge(p.0, p.1));
    }
    c
}

/// A uniform direction on the unit sphere (normalised Gaussians, Box-Muller).
fn unit_direction(d: usize, rng: &mut impl Rng) -> Vec<f32> {
    let v: Vec<f32> = (0..d)
        .map(|_| {
            let (a, b): (f32, f32) = (rng.random_range(f32::EPSILON..1.0), rng.random());
            (-2.0 * a.ln()).sqrt() * (std::f32::consts::TAU * b).cos()
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.into_iter().map(|x| x / norm).collect()
}

/// The estimate of grad f at x from `q` directions (public so that its mean can be checked
/// against a known gradient).
pub fn estimate(f: impl Fn(&[f32]) -> f32, x: &[f32], mu: f32, q: usize, rng: &mut impl Rng) -> Vec<f32> {
    let d = x.len();
    let f0 = f(x);
    let mut g = vec![0.0f32; d];
    for _ in 0..q {
        let u = unit_direction(d, rng);
        let probe: Vec<f32> = x.iter().zip(&u).map(|(x, u)| x + mu * u).collect();
        let df = f(&probe) - f0;
        g.iter_mut().zip(&u).for_each(|(g, u)| *g += df * u);
    }
    g.iter().map(|g| g * d as f32 / (mu * q as f32)).collect()
}
