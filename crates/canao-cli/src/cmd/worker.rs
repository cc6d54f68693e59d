//! `canao worker`: evaluates the candidates of searches whose drivers keep them in PostgreSQL
//! (`canao search --storage URL`). Start any number, on any machine that has canao and the
//! assets its studies need; each builds a study's objective from the run configuration stored
//! with it, the first time it claims one of its candidates.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};
use canao_search::{CandidateKey, Evaluation, Objective, RunConfig, StudentScorer, Students};
use canao_store::{Claim, Finish, Objectives, ServeOptions, Study, serve};

use crate::cmd::search_setup::{rayon_threads, student_objective};
use crate::cmd::search_store::{DEFAULT_LEASE_S, worker_name};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database the drivers use (postgres://USER:PASSWORD@HOST:PORT/DB).
    #[arg(long, value_name = "URL")]
    storage: String,
    /// Serve this study (a run folder's name) only, waiting for its driver to start it, and stop
    /// when it ends; by default every open study, waiting for new ones.
    #[arg(long)]
    study: Option<String>,
    /// Candidates evaluated at once [default: the available cores].
    #[arg(long)]
    parallel: Option<usize>,
    /// Seconds a claim lasts without a heartbeat [default: 30]; the heartbeat renews it every
    /// third of that.
    #[arg(long)]
    lease_s: Option<f64>,
    /// Stop when no study is open instead of waiting for new ones.
    #[arg(long)]
    exit_when_idle: bool,
    /// Wait this long after each claim before evaluating (fault-injection tests: a worker
    /// killed while it holds a candidate).
    #[arg(long, hide = true, default_value_t = 0)]
    hold_ms: u64,
}

pub fn run(a: Args) -> Result<()> {
    let lease = a.lease_s.unwrap_or(DEFAULT_LEASE_S);
    if !(lease.is_finite() && lease > 0.0) {
        bail!("--lease-s must be a positive number of seconds, got {lease}");
    }
    if a.parallel == Some(0) {
        bail!("--parallel must be above 0");
    }
    let options = ServeOptions {
        worker: worker_name("worker"),
        study: a.study.clone(),
        threads: a.parallel.unwrap_or_else(rayon_threads),
        lease: Duration::from_secs_f64(lease),
        exit_when_idle: a.exit_when_idle,
        hold: Duration::from_millis(a.hold_ms),
    };
    eprintln!(
        "worker {} serving {} with {} threads",
        options.worker,
        a.study
            .as_deref()
            .map_or("every open study".to_string(), |s| format!("study `{s}`")),
        options.threads
    );
    let count = AtomicUsize::new(0);
    let served = serve(
        &a.storage,
        &options,
        &FromRunConfig,
        &|claim: &Claim, finish: Finish| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            if finish == Finish::AlreadyKept {
                eprintln!(
                    "study {}: another worker's result for a candidate came first; this one was dropped",
                    claim.study
                );
            }
            if n.is_multiple_of(100) {
                eprintln!("{n} candidates evaluated");
            }
        },
    )?;
    println!(
        "{} results kept, {} dropped (another worker's came first)",
        served.kept, served.dropped
    );
    Ok(())
}

/// Studies of `canao search`: their configuration is the run's run.ron.
struct FromRunConfig;

impl Objectives for FromRunConfig {
    fn objective(
        &self,
        study: &Study,
        config: &serde_json::Value,
    ) -> canao_search::Result<Arc<dyn Objective + Send + Sync>> {
        let config: RunConfig =
            serde_json::from_value(config.clone()).map_err(|e| canao_search::SearchError::Config {
                field: format!("study `{}`", study.name),
                detail: format!("its configuration is not a run.ron this build reads: {e}"),
            })?;
        eprintln!("study `{}`: building its objective", study.name);
        let scorer = student_objective(
            &config.space,
            &config.device,
            config.level,
            &config.task,
            config.measure,
        )
        .map_err(|e| canao_search::SearchError::Config {
            field: format!("study `{}`", study.name),
            detail: format!("{e:#}"),
        })?;
        Ok(Arc::new(OwnedStudents(scorer)))
    }
}

/// [`Students`] over a scorer it owns.
#[derive(Debug)]
struct OwnedStudents(Box<dyn StudentScorer + Send>);

impl Objective for OwnedStudents {
    fn key(&self, point: &[usize]) -> canao_search::Result<CandidateKey> {
        Students(self.0.as_ref()).key(point)
    }

    fn describe(&self, point: &[usize]) -> canao_search::Result<serde_json::Value> {
        Students(self.0.as_ref()).describe(point)
    }

    fn evaluate(&self, point: &[usize]) -> canao_search::Result<Evaluation> {
        Students(self.0.as_ref()).evaluate(point)
    }
}
