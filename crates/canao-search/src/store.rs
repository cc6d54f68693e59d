//! Where a run keeps its records and how its new candidates get evaluated, behind one seam: the
//! runner hands a store each batch of new candidates and gets their records back. [`LocalStore`]
//! evaluates them on this machine's threads and appends each to the run's file log as it
//! finishes; canao-store's PostgreSQL queue lets workers on many machines evaluate them.

use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Result, SearchError};
use crate::log::{Record, SearchLog};
use crate::objective::{CandidateKey, Evaluation, Objective};
use crate::strategy::Point;

/// A candidate of a batch not evaluated yet: its place in the run, its identity and its point.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub index: usize,
    pub key: CandidateKey,
    pub point: Point,
}

/// What the runner gives a store with each batch.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    pub objective: &'a dyn Objective,
    /// Makes the logged record of an evaluated candidate (its reward, its time in the run).
    pub record: &'a (dyn Fn(&Pending, Evaluation) -> Result<Record> + Sync),
    /// Sees each record once it is kept (for progress display).
    pub on_record: &'a (dyn Fn(&Record) + Sync),
}

impl std::fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

pub trait Store {
    /// Evaluates each candidate of `batch` once, keeps its record before returning, and returns
    /// the records in any order. A record kept is never lost to a later kill of this process.
    fn evaluate(&mut self, batch: &[Pending], job: Job<'_>) -> Result<Vec<Record>>;
}

/// The embedded default: candidates evaluated on this machine's threads, each appended to the
/// run's log file and flushed as it finishes.
#[derive(Debug)]
pub struct LocalStore {
    log: Mutex<SearchLog>,
    pool: rayon::ThreadPool,
}

impl LocalStore {
    /// `threads` candidates evaluate at once (at least one).
    pub fn new(log: SearchLog, threads: usize) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map_err(|e| SearchError::Config {
                field: "parallel".into(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            log: Mutex::new(log),
            pool,
        })
    }
}

impl Store for LocalStore {
    fn evaluate(&mut self, batch: &[Pending], job: Job<'_>) -> Result<Vec<Record>> {
        let log = &self.log;
        self.pool.install(|| {
            batch
                .par_iter()
                .map(|p| {
                    let record = (job.record)(p, job.objective.evaluate(&p.point)?)?;
                    log.lock().expect("log lock").append(&record)?;
                    (job.on_record)(&record);
                    Ok(record)
                })
                .collect()
        })
    }
}
