//! Search strategies behind one ask/tell seam. A strategy sees a search space only as a vector
//! of categorical decisions with known cardinalities; it proposes points (`ask`) and learns from
//! their rewards (`tell`, higher is better). All are seeded: the same seed and the same rewards
//! give the same proposals, which is what lets a killed run be replayed from its log.

mod evolution;
mod greedy;
mod random;
mod reinforce;
mod zeroth;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};

pub use evolution::Evolution;
pub use greedy::Greedy;
pub use random::Random;
pub use reinforce::Reinforce;
pub use zeroth::ZerothOrder;

/// One choice index per decision.
pub type Point = Vec<usize>;

pub trait Strategy: Send {
    /// The next points to evaluate (at least one). `n` is how many the runner evaluates at once:
    /// a hint for the batch size that strategies with a natural batch of their own may ignore.
    fn ask(&mut self, n: usize) -> Vec<Point>;
    /// The rewards of the points of the last `ask`, in its order. A point outside the
    /// strategy's decisions is an error (and the strategy learns nothing from the batch).
    fn tell(&mut self, results: &[(Point, f64)]) -> Result<()>;
}

/// The strategies canao ships, by the names the CLI and `run.ron` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    Random,
    Evolution,
    Rl,
    Greedy,
    ZerothOrder,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 5] = [Self::Random, Self::Evolution, Self::Rl, Self::Greedy, Self::ZerothOrder];

    pub fn name(&self) -> &'static str {
        match self {
            Self::Random => "random",
            Self::Evolution => "evolution",
            Self::Rl => "rl",
            Self::Greedy => "greedy",
            Self::ZerothOrder => "zeroth-order",
        }
    }

    /// A fresh strategy over decisions with these cardinalities (at least one decision, each
    /// with at least one choice).
    pub fn build(&self, cardinalities: &[usize], seed: u64) -> Result<Box<dyn Strategy>> {
        if cardinalities.is_empty() || cardinalities.contains(&0) {
            return Err(SearchError::Config {
                field: "strategy".into(),
                detail: format!("needs decisions with at least one choice each, got {cardinalities:?}"),
            });
        }
        Ok(match self {
            Self::Random => Box::new(Random::new(cardinalities, seed)),
            Self::Evolution => Box::new(Evolution::new(cardinalities, seed)),
            Self::Rl => Box::new(Reinforce::new(cardinalities, seed)),
            Self::Greedy => Box::new(Greedy::new(cardinalities, seed)),
            Self::ZerothOrder => Box::new(ZerothOrder::new(cardinalities, seed)),
        })
    }
}

impl std::str::FromStr for StrategyKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
            format!("unknown strategy `{s}`; one of {}", names.join(", "))
        })
    }
}

/// A uniformly random point.
/// Checks that every told point has one valid choice per decision.
pub(crate) fn check_told(cardinalities: &[usize], results: &[(Point, f64)]) -> Result<()> {
    let outside = |p: &Point| p.len() != cardinalities.len() || p.iter().zip(cardinalities).any(|(&p, &c)| p >= c);
    match results.iter().find(|(p, _)| outside(p)) {
        Some((p, _)) => Err(SearchError::Point {
            point: p.clone(),
            detail: format!("is not a point of decisions with cardinalities {cardinalities:?}"),
        }),
        None => Ok(()),
    }
}

pub(crate) fn uniform(cardinalities: &[usize], rng: &mut impl rand::Rng) -> Point {
    cardinalities.iter().map(|&c| rng.random_range(0..c)).collect()
}
