//! The summary of a run: the best candidate under the latency limit, the accuracy/latency Pareto
//! front and why the run stopped.

use serde::{Deserialize, Serialize};

use crate::log::Record;
use crate::objective::Reward;
use crate::runner::{Outcome, StopReason};

/// One candidate as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Its position in the run's log.
    pub index: usize,
    pub arch: serde_json::Value,
    pub accuracy: f64,
    pub score: f64,
    pub latency_ms: f64,
    pub energy_mj: f64,
    pub reward: f64,
    pub meets_limit: bool,
    pub extra: std::collections::BTreeMap<String, f64>,
}

impl From<&Record> for Candidate {
    fn from(r: &Record) -> Self {
        Self {
            index: r.index,
            arch: r.arch.clone(),
            accuracy: r.evaluation.accuracy,
            score: r.evaluation.score,
            latency_ms: r.evaluation.latency_ms,
            energy_mj: r.evaluation.energy_mj,
            reward: r.reward,
            meets_limit: r.meets_limit,
            extra: r.evaluation.extra.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The highest score meeting the limit (ties: the faster); when nothing meets it, the highest
    /// reward, with `meets_limit` false.
    pub best: Option<Candidate>,
    pub latency_limit_ms: f64,
    /// Candidates no other beats on both score and latency, fastest first.
    pub pareto: Vec<Candidate>,
    pub stop_reason: StopReason,
    pub evaluations: usize,
    pub wall_s: f64,
    /// The teacher (the unpruned model) evaluated the same way, when the caller adds it.
    pub teacher: Option<crate::objective::Evaluation>,
}

impl Report {
    pub fn new(outcome: &Outcome, reward: &Reward) -> Self {
        let records = &outcome.records;
        let meeting = records.iter().filter(|r| r.meets_limit).max_by(|a, b| {
            (a.evaluation.score.total_cmp(&b.evaluation.score))
                .then(b.evaluation.latency_ms.total_cmp(&a.evaluation.latency_ms))
        });
        let best = meeting.or_else(|| records.iter().max_by(|a, b| a.reward.total_cmp(&b.reward)));
        Self {
            best: best.map(Candidate::from),
            latency_limit_ms: reward.latency_limit_ms,
            pareto: pareto_front(records).into_iter().map(Candidate::from).collect(),
            stop_reason: outcome.stop,
            evaluations: records.len(),
            wall_s: outcome.elapsed_s,
            teacher: None,
        }
    }
}

/// The non-dominated records (higher score, lower latency), fastest first.
pub fn pareto_front(records: &[Record]) -> Vec<&Record> {
    let mut sorted: Vec<&Record> = records.iter().collect();
    // Fastest first; among equal latency the best score first, so it shadows the rest.
    sorted.sort_by(|a, b| {
        a.evaluation
            .latency_ms
            .total_cmp(&b.evaluation.latency_ms)
            .then(b.evaluation.score.total_cmp(&a.evaluation.score))
    });
    let mut front: Vec<&Record> = Vec::new();
    for r in sorted {
        if front.last().is_none_or(|f| r.evaluation.score > f.evaluation.score) {
            front.push(r);
        }
    }
    front
}

/// The best reward seen after each evaluation: the search curve.
pub fn best_so_far(records: &[Record]) -> Vec<f64> {
    records
        .iter()
        .scan(f64::NEG_INFINITY, |best, r| {
            *best = best.max(r.reward);
            Some(*best)
        })
        .collect()
}
