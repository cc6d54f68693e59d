//! The search loop: asks the strategy for points, has its store evaluate and keep the new ones
//! (here in parallel, or by workers elsewhere) and tells the strategy the rewards, until a budget
//! runs out.
//!
//! Resuming replays the run: a fresh strategy with the same seed asks the same points as long as
//! it is told the same rewards, and every point found in the old log is answered from it instead
//! of being evaluated. Nothing logged is repeated and the resumed run ends where the uninterrupted
//! one would have.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::log::Record;
use crate::objective::{CandidateKey, Evaluation, Objective, Reward};
use crate::store::{Job, Pending, Store};
use crate::strategy::{Point, Strategy};

/// Asks in a row that bring no new candidate before the search counts as converged.
const CONVERGED_AFTER: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Distinct candidates to evaluate.
    pub evaluations: usize,
    /// Wall-clock limit, summed over resumed sessions; checked between batches.
    pub seconds: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// The evaluation budget is spent.
    Evaluations,
    /// The wall-clock budget is spent.
    WallTime,
    /// The strategy kept proposing candidates already evaluated.
    Converged,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::Evaluations => "its evaluation budget",
            StopReason::WallTime => "its wall-time limit",
            StopReason::Converged => "convergence (the strategy kept proposing candidates already evaluated)",
        })
    }
}

#[derive(Debug)]
pub struct Outcome {
    /// Every distinct candidate, in the order the strategy first asked for it.
    pub records: Vec<Record>,
    pub stop: StopReason,
    /// Wall time over all sessions of the run.
    pub elapsed_s: f64,
    /// Candidates evaluated in this session (not answered from the log).
    pub evaluated_now: usize,
}

#[derive(Clone, Copy)]
pub struct Runner<'a> {
    pub objective: &'a dyn Objective,
    pub reward: Reward,
    pub budget: Budget,
    /// Points asked of the strategy at once: what a seed's run depends on, unlike how many
    /// threads or workers evaluate them.
    pub batch: usize,
}

impl std::fmt::Debug for Runner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("reward", &self.reward)
            .field("budget", &self.budget)
            .field("batch", &self.batch)
            .finish()
    }
}

impl Runner<'_> {
    /// Runs `strategy` to a stop. `logged` are the records `store` kept in an earlier session of
    /// this run (empty for a new run); `on_record` sees each newly evaluated record (for progress
    /// display).
    pub fn run(
        &self,
        strategy: &mut dyn Strategy,
        store: &mut dyn Store,
        logged: Vec<Record>,
        on_record: &(dyn Fn(&Record) + Sync),
    ) -> Result<Outcome> {
        let offset = logged.iter().map(|r| r.elapsed_s).fold(0.0, f64::max);
        let mut logged: HashMap<CandidateKey, Record> = logged.into_iter().map(|r| (r.key.clone(), r)).collect();
        let start = Instant::now();
        let record = |p: &Pending, evaluation: Evaluation| -> Result<Record> {
            Ok(Record {
                index: p.index,
                key: p.key.clone(),
                point: p.point.clone(),
                arch: self.objective.describe(&p.point)?,
                reward: self.reward.of(&evaluation),
                meets_limit: self.reward.meets(&evaluation),
                evaluation,
                elapsed_s: offset + start.elapsed().as_secs_f64(),
            })
        };
        let job = Job {
            objective: self.objective,
            record: &record,
            on_record,
        };
        let mut records: Vec<Record> = Vec::new();
        let mut by_key: HashMap<CandidateKey, usize> = HashMap::new();
        let mut idle = 0;
        let mut evaluated_now = 0;
        let out_of_time = || {
            self.budget
                .seconds
                .is_some_and(|s| offset + start.elapsed().as_secs_f64() >= s)
        };
        let stop = loop {
            let remaining = self.budget.evaluations.saturating_sub(records.len());
            if remaining == 0 {
                break StopReason::Evaluations;
            }
            // Logged records replay at no cost: a run whose time is spent still gives them all
            // back (its report must not lose them), and stops at the first new candidate.
            if logged.is_empty() && out_of_time() {
                break StopReason::WallTime;
            }
            if idle >= CONVERGED_AFTER {
                break StopReason::Converged;
            }
            let points = strategy.ask(self.batch.max(1).min(remaining));
            let keys: Vec<CandidateKey> = points.iter().map(|p| self.objective.key(p)).collect::<Result<_>>()?;
            // New candidates of this batch, in ask order; those beyond the budget are dropped
            // and the batch is then not told (the run stops with it).
            let mut fresh: Vec<(usize, &CandidateKey, &Point)> = Vec::new();
            let mut truncated = false;
            for (key, point) in keys.iter().zip(&points) {
                if by_key.contains_key(key) || fresh.iter().any(|f| f.1 == key) {
                    continue;
                }
                if records.len() + fresh.len() == self.budget.evaluations {
                    truncated = true;
                    break;
                }
                fresh.push((records.len() + fresh.len(), key, point));
            }
            idle = if fresh.is_empty() { idle + 1 } else { 0 };
            let (replayed, new): (Vec<_>, Vec<_>) = fresh.into_iter().partition(|f| logged.contains_key(f.1));
            // Time spent: this batch's logged records still replay, its new candidates wait.
            let timed_out = !new.is_empty() && out_of_time();
            let new: Vec<Pending> = if timed_out { Vec::new() } else { new }
                .into_iter()
                .map(|(index, key, point)| Pending {
                    index,
                    key: key.clone(),
                    point: point.clone(),
                })
                .collect();
            let evaluated = if new.is_empty() {
                Vec::new()
            } else {
                store.evaluate(&new, job)?
            };
            if evaluated.len() != new.len() {
                return Err(SearchError::Config {
                    field: "store".into(),
                    detail: format!("returned {} records for {} candidates", evaluated.len(), new.len()),
                });
            }
            evaluated_now += new.len();
            let mut batch: Vec<Record> = replayed
                .iter()
                .map(|f| logged.remove(f.1).expect("partitioned on presence"))
                .collect();
            batch.extend(evaluated);
            batch.sort_by_key(|r| r.index);
            for mut r in batch {
                r.index = records.len();
                by_key.insert(r.key.clone(), records.len());
                records.push(r);
            }
            if truncated {
                break StopReason::Evaluations;
            }
            if timed_out {
                break StopReason::WallTime;
            }
            let told: Vec<(Point, f64)> = points
                .into_iter()
                .zip(&keys)
                .map(|(p, k)| (p, records[by_key[k]].reward))
                .collect();
            strategy.tell(&told)?;
        };
        Ok(Outcome {
            records,
            stop,
            elapsed_s: offset + start.elapsed().as_secs_f64(),
            evaluated_now,
        })
    }
}
