//! Search spaces over students of a BERT-family teacher, read from RON, and the strategies,
//! runner and evaluators that search them.

mod builtin;
mod encoding;
mod error;
mod latency_objective;
mod log;
mod objective;
pub mod pattern_sets;
mod probe;
mod report;
mod run_config;
mod runner;
mod space;
mod store;
pub mod strategy;
mod student_objective;

pub use builtin::BUILTIN_SPACES;
pub use error::{Result, SearchError};
pub use latency_objective::LatencyObjective;
pub use log::{Record, SearchLog};
pub use objective::{CandidateKey, Evaluation, Memo, Objective, Reward};
pub use probe::probe_accuracy;
pub use report::{Candidate, Report, best_so_far, pareto_front};
pub use run_config::{RUN_FILE, RUN_VERSION, RunConfig};
pub use runner::{Budget, Outcome, Runner, StopReason};
pub use space::{FORMAT_VERSION, SearchSpace, Teacher};
pub use store::{Job, LocalStore, Pending, Store};
pub use student_objective::{StudentObjective, StudentScorer, Students, Task};
