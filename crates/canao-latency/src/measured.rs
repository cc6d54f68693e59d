//! What calibration measures, as the latency model reads it: each workload's per-step work and
//! times, and how times over rounds become one figure. Measuring itself needs a backend and
//! lives in `canao-calibrate`.

use canao_ir::StepWork;
use serde::{Deserialize, Serialize};

/// How a workload's times over rounds become one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// The fastest round: the latency of the code itself. A shared host's slow spells (other
    /// tenants on the core's caches and load ports, seconds long) only ever add time, so with
    /// rounds spread over seconds the minimum is the figure that repeats from one run to the next.
    Min,
    /// The middle round, slow spells included. Profiles that do not say were fitted on it.
    #[default]
    Median,
}

impl Statistic {
    /// The statistic of `v` (not empty).
    pub fn of(self, v: Vec<f64>) -> f64 {
        match self {
            Statistic::Min => v.into_iter().fold(f64::INFINITY, f64::min),
            Statistic::Median => median(v),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Statistic::Min => "min",
            Statistic::Median => "median",
        }
    }
}

impl std::str::FromStr for Statistic {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "min" => Ok(Statistic::Min),
            "median" => Ok(Statistic::Median),
            _ => Err(format!("unknown statistic {s:?}: min or median")),
        }
    }
}

/// What one workload measured: each step's work and time (the last being the run's `io`), and
/// the end-to-end time of plain runs, each the [`Statistic`] over rounds.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: String,
    pub work: Vec<StepWork>,
    pub steps_ns: Vec<f64>,
    pub total_ns: f64,
    /// How much slower the host ran while this was measured than at the reference speed
    /// (1 = same); times above are already divided by it.
    pub drift: f64,
}

impl Measured {
    /// The same measurement with its times divided by `drift`.
    pub fn normalised(&self, drift: f64) -> Self {
        Self {
            name: self.name.clone(),
            work: self.work.clone(),
            steps_ns: self.steps_ns.iter().map(|t| t / drift).collect(),
            total_ns: self.total_ns / drift,
            drift: self.drift * drift,
        }
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Name of the anchor workload: the dense MiniLM teacher at 128 tokens.
pub const ANCHOR: &str = "teacher@128";
