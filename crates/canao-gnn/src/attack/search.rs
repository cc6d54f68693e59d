//! Edge flips searched through canao-search's ask / tell `Strategy` seam, the same strategies
//! that search BERT structures. The perturbation space: `flips` decisions, each choosing one
//! pair of a candidate pool or "no flip" (choice 0); a point decodes to its distinct pairs, so
//! every point is within budget by construction. The reward is the attack loss of the flipped
//! graph: a black-box query, nothing else.
//!
//! What the space needs of its own, beyond the generic strategies: the pool (n(n-1)/2 pairs are
//! too many choices per decision, so pairs are pre-chosen by queries, as the zeroth-order attack
//! does), the decoding (duplicates collapse, choice 0 flips nothing), and gradients: the seam
//! carries rewards only, so the gradient-scored greedy attack stays outside it.

use canao_search::strategy::{Point, StrategyKind};
use rand::Rng;
use rayon::prelude::{IntoParallelRefIterator, ParallelIterator};

use super::zeroth::pool;
use super::{AttackConfig, Candidates, Objective};

/// A proposed point, its reward and the flips it decodes to.
type Scored = (Point, f64, Vec<(usize, usize)>);

/// Points evaluated per `ask` (in parallel).
const BATCH: usize = 8;

pub fn run(
    kind: StrategyKind,
    config: &AttackConfig,
    objective: &Objective,
    flips: usize,
    rng: &mut impl Rng,
) -> Vec<(usize, usize)> {
    let candidates = pool(config, objective, flips, rng);
    if candidates.is_empty() {
        return Vec::new();
    }
    let cardinalities = vec![candidates.len() + 1; flips];
    let mut strategy = kind
        .build(&cardinalities, rng.random())
        .expect("every decision has choices");
    let mut best: (f32, Vec<(usize, usize)>) = (objective.flipped_loss(&[]), Vec::new());
    let mut queries = 0;
    while queries < config.search_queries {
        let points = strategy.ask(BATCH);
        let scored: Vec<Scored> = points
            .par_iter()
            .map(|p| {
                let pairs = decode(&candidates, p);
                (p.clone(), f64::from(objective.flipped_loss(&pairs)), pairs)
            })
            .collect();
        queries += scored.len();
        for (_, loss, pairs) in &scored {
            if *loss as f32 > best.0 {
                best = (*loss as f32, pairs.clone());
            }
        }
        let told: Vec<(Point, f64)> = scored.into_iter().map(|(p, r, _)| (p, r)).collect();
        strategy.tell(&told).expect("points come from the strategy's own ask");
    }
    best.1
}

/// The distinct pairs a point chooses (choice 0: no flip).
fn decode(candidates: &Candidates, point: &[usize]) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = point
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| candidates.pairs[c - 1])
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}
