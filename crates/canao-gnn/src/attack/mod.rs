//! Edge-flip attacks on a trained GCN under a budget of flipped pairs (ALGORITHMS.md §10):
//! PGD on the continuous relaxation (Xu et al. 2019) as the white-box reference, greedy flips
//! scored by the relaxed gradient, and zeroth-order estimates from loss queries only. Candidate
//! pairs are sampled from the n(n-1)/2 pairs by index (`crate::graph::pair_at`) when there are
//! more than a block holds, as PR-BCD does (Geisler et al. 2021): memory stays linear in the
//! block and the edges, never n x n. The search-* attacks run canao-search's strategies over a
//! flip space through its ask / tell seam (see `search`).

mod candidates;
mod greedy;
mod objective;
mod pgd;
pub mod relaxed;
mod search;
pub mod zeroth;

use canao_search::strategy::StrategyKind;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, config_err};

pub use candidates::Candidates;
pub use objective::Objective;

/// The attacks, by the names the CLI uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttackMethod {
    Pgd,
    Greedy,
    ZerothOrder,
    /// canao-search's greedy local search over the flip space (rewards only).
    SearchGreedy,
    /// canao-search's zeroth-order strategy over the flip space (rewards only).
    SearchZerothOrder,
}

impl AttackMethod {
    pub const ALL: [AttackMethod; 5] = [
        Self::Pgd,
        Self::Greedy,
        Self::ZerothOrder,
        Self::SearchGreedy,
        Self::SearchZerothOrder,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Self::Pgd => "pgd",
            Self::Greedy => "greedy",
            Self::ZerothOrder => "zeroth-order",
            Self::SearchGreedy => "search-greedy",
            Self::SearchZerothOrder => "search-zeroth-order",
        }
    }
}

impl std::str::FromStr for AttackMethod {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
            format!("unknown attack `{s}`; one of {}", names.join(", "))
        })
    }
}

/// Settings of every attack; each reads its own part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttackConfig {
    /// Most candidate pairs held at once; a graph with fewer pairs is attacked over all of them.
    pub block: usize,
    /// PGD: projected gradient steps, base step size (divided by sqrt(t + 1)), and the number of
    /// Bernoulli samples the discrete flips are drawn from.
    pub pgd_steps: usize,
    pub pgd_lr: f32,
    pub samples: usize,
    /// Greedy: rounds over which the budget is spent (flips per round = budget / rounds).
    pub greedy_rounds: usize,
    /// Zeroth-order: candidate pool (pairs per budgeted flip), iterations, directions per
    /// estimate (q), smoothing radius (mu) and step size.
    pub zo_pool_per_flip: usize,
    pub zo_steps: usize,
    pub zo_queries: usize,
    pub zo_mu: f32,
    pub zo_lr: f32,
    /// The search strategies: loss queries per attack.
    pub search_queries: usize,
    /// Robust training with PGD or zeroth-order: warm-started ascent steps per epoch.
    pub inner_steps: usize,
}

impl Default for AttackConfig {
    fn default() -> Self {
        Self {
            block: 4_000_000,
            pgd_steps: 100,
            pgd_lr: 200.0,
            samples: 20,
            greedy_rounds: 20,
            zo_pool_per_flip: 8,
            zo_steps: 100,
            zo_queries: 20,
            zo_mu: 0.05,
            zo_lr: 200.0,
            search_queries: 2000,
            inner_steps: 1,
        }
    }
}

/// Flips allowed by a budget given as a share of the graph's edges.
pub fn budget_flips(budget: f64, edges: usize) -> Result<usize> {
    if !(0.0..=1.0).contains(&budget) {
        return config_err("budget", format!("{budget} is outside [0, 1] (a share of the edges)"));
    }
    Ok((budget * edges as f64).floor() as usize)
}

/// Runs one attack; returns at most `flips` distinct pairs (u < v) to flip.
pub fn attack(
    method: AttackMethod,
    config: &AttackConfig,
    objective: &Objective,
    flips: usize,
    rng: &mut impl Rng,
) -> Vec<(usize, usize)> {
    if flips == 0 {
        return Vec::new();
    }
    let out = match method {
        AttackMethod::Pgd => pgd::run(config, objective, flips, rng),
        AttackMethod::Greedy => greedy::run(config, objective, flips, rng),
        AttackMethod::ZerothOrder => zeroth::run(config, objective, flips, rng),
        AttackMethod::SearchGreedy => search::run(StrategyKind::Greedy, config, objective, flips, rng),
        AttackMethod::SearchZerothOrder => search::run(StrategyKind::ZerothOrder, config, objective, flips, rng),
    };
    debug_assert!(out.len() <= flips);
    out
}
