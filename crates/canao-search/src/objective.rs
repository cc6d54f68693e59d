//! What a search optimises: an `Objective` measures a point, a `Reward` turns the measurement
//! into the scalar the strategies climb (CANAO's: quality under the latency limit, penalised in
//! proportion to the overshoot above it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The measurements of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The task metric reported as the candidate's accuracy (0..1).
    pub accuracy: f64,
    /// What the search maximises under the latency limit (for the BERT space, accuracy blended
    /// with embedding fidelity to the teacher; for others, the accuracy itself).
    pub score: f64,
    /// Predicted latency on the search's device profile and DVFS level.
    pub latency_ms: f64,
    pub energy_mj: f64,
    /// Further figures worth keeping (fidelity, latency measured here, ...).
    #[serde(default)]
    pub extra: BTreeMap<String, f64>,
}

/// A candidate's identity: points meaning the same candidate share a key, so a candidate is
/// evaluated once however many points name it. Logged as its text (for the BERT space, the
/// student in RON), which is what a resumed run matches on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CandidateKey(pub String);

impl std::fmt::Display for CandidateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub trait Objective: Sync {
    /// The candidate's identity (see [`CandidateKey`]).
    fn key(&self, point: &[usize]) -> Result<CandidateKey>;
    /// The candidate as logged and reported (for the BERT space, its `StudentArch`).
    fn describe(&self, point: &[usize]) -> Result<serde_json::Value>;
    fn evaluate(&self, point: &[usize]) -> Result<Evaluation>;
}

/// CANAO's reward: the score when the latency meets the limit, otherwise the score minus
/// `penalty` times the relative overshoot, so a slightly slow candidate still outranks a far
/// too slow one and the controller gets a gradient back towards the limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reward {
    pub latency_limit_ms: f64,
    pub penalty: f64,
}

impl Reward {
    /// No latency limit: the reward is the score.
    pub const UNLIMITED: Reward = Reward {
        latency_limit_ms: f64::INFINITY,
        penalty: 0.0,
    };

    pub fn of(&self, e: &Evaluation) -> f64 {
        if self.meets(e) {
            e.score
        } else {
            e.score - self.penalty * (e.latency_ms / self.latency_limit_ms - 1.0)
        }
    }

    pub fn meets(&self, e: &Evaluation) -> bool {
        e.latency_ms <= self.latency_limit_ms
    }
}

/// An objective that remembers its evaluations by key. Runs that share one (strategies and seeds
/// compared over the same deterministic objective) evaluate each candidate once; each run still
/// counts it against its own budget, so results are exactly those of separate runs.
pub struct Memo<'a> {
    inner: &'a dyn Objective,
    seen: std::sync::Mutex<std::collections::HashMap<CandidateKey, Evaluation>>,
}

impl<'a> Memo<'a> {
    pub fn new(inner: &'a dyn Objective) -> Self {
        Self {
            inner,
            seen: Default::default(),
        }
    }

    /// Candidates actually evaluated so far.
    pub fn computed(&self) -> usize {
        self.seen.lock().expect("memo lock").len()
    }
}

impl std::fmt::Debug for Memo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Memo({} evaluations)", self.computed())
    }
}

impl Objective for Memo<'_> {
    fn key(&self, point: &[usize]) -> Result<CandidateKey> {
        self.inner.key(point)
    }

    fn describe(&self, point: &[usize]) -> Result<serde_json::Value> {
        self.inner.describe(point)
    }

    fn evaluate(&self, point: &[usize]) -> Result<Evaluation> {
        let key = self.inner.key(point)?;
        if let Some(e) = self.seen.lock().expect("memo lock").get(&key) {
            return Ok(e.clone());
        }
        let e = self.inner.evaluate(point)?;
        self.seen.lock().expect("memo lock").insert(key, e.clone());
        Ok(e)
    }
}
