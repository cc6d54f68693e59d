//! `canao worker`'s loop: threads that claim candidates of every open study (or of one), build
//! each study's objective from its configuration once, evaluate and write results, with one
//! heartbeat thread keeping the process's leases alive.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canao_search::Objective;

use crate::error::{Result, StoreError};
use crate::queue::Backoff;
use crate::schema::connect;
use crate::study::{self, Study};
use crate::worker::{Claim, Finish, Worker, heartbeat};

/// Builds the objective a study's configuration describes (the CLI knows how).
pub trait Objectives: Sync {
    fn objective(
        &self,
        study: &Study,
        config: &serde_json::Value,
    ) -> canao_search::Result<Arc<dyn Objective + Send + Sync>>;
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The name claims go under (one per process: the heartbeat extends all of them).
    pub worker: String,
    /// Serve this study only (waiting for its driver to register it), and stop when it closes.
    pub study: Option<String>,
    /// Candidates evaluated at once.
    pub threads: usize,
    pub lease: Duration,
    /// Stop when no study is open (without `study`; otherwise the worker waits for new ones).
    pub exit_when_idle: bool,
    /// A pause after each claim, before evaluating: a slow objective for fault-injection tests.
    pub hold: Duration,
}

/// What a worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    pub kept: usize,
    /// Results dropped because another worker's came first.
    pub dropped: usize,
}

/// Serves until there is nothing left to serve (see [`ServeOptions`]) or an error; `on_finish`
/// sees every result written.
pub fn serve(
    url: &str,
    options: &ServeOptions,
    objectives: &dyn Objectives,
    on_finish: &(dyn Fn(&Claim, Finish) + Sync),
) -> Result<Served> {
    let mut admin = connect(url)?;
    let only = match &options.study {
        Some(name) => Some(wait_for(&mut admin, name)?.id),
        None => None,
    };
    let workers: Vec<Worker> = (0..options.threads.max(1))
        .map(|_| Ok(Worker::new(connect(url)?, &options.worker, options.lease)))
        .collect::<Result<_>>()?;
    let shared = Shared {
        only,
        options,
        objectives,
        on_finish,
        cache: Mutex::default(),
        served: Mutex::default(),
        stop: AtomicBool::new(false),
    };
    std::thread::scope(|s| {
        let beats = s.spawn(|| keep_alive(&mut admin, options, &shared.stop));
        let handles: Vec<_> = workers
            .into_iter()
            .map(|mut w| {
                let shared = &shared;
                s.spawn(move || {
                    let r = shared.work(&mut w);
                    shared.stop.store(true, Ordering::SeqCst);
                    r
                })
            })
            .collect();
        let mut first_error = None;
        for h in handles {
            if let Err(e) = h.join().expect("worker threads do not panic") {
                first_error.get_or_insert(e);
            }
        }
        shared.stop.store(true, Ordering::SeqCst);
        if let Err(e) = beats.join().expect("the heartbeat thread does not panic") {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    })?;
    Ok(shared.served.into_inner().expect("served lock"))
}

/// What the threads of one worker process share.
struct Shared<'a> {
    only: Option<i64>,
    options: &'a ServeOptions,
    objectives: &'a dyn Objectives,
    on_finish: &'a (dyn Fn(&Claim, Finish) + Sync),
    /// Each study's objective, built on its first claim.
    cache: Mutex<HashMap<i64, Arc<dyn Objective + Send + Sync>>>,
    served: Mutex<Served>,
    stop: AtomicBool,
}

/// A named study, once its driver has registered it: workers may start before their driver.
fn wait_for(client: &mut postgres::Client, name: &str) -> Result<Study> {
    loop {
        match study::find(client, name) {
            Err(StoreError::Study { .. }) => std::thread::sleep(Duration::from_millis(200)),
            found => return found,
        }
    }
}

fn keep_alive(client: &mut postgres::Client, options: &ServeOptions, stop: &AtomicBool) -> Result<()> {
    let tick = Duration::from_millis(20);
    let mut since = Duration::ZERO;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(tick);
        since += tick;
        if since >= options.lease / 3 {
            heartbeat(client, &options.worker, options.lease)?;
            since = Duration::ZERO;
        }
    }
    Ok(())
}

impl Shared<'_> {
    fn work(&self, worker: &mut Worker) -> Result<()> {
        let mut idle = Backoff::default();
        while !self.stop.load(Ordering::SeqCst) {
            let Some(claim) = worker.claim(self.only)? else {
                if (self.only.is_some() || self.options.exit_when_idle) && !worker.serving(self.only)? {
                    return Ok(());
                }
                idle.wait();
                continue;
            };
            idle.reset();
            let objective = match self.objective(worker, claim.study) {
                Ok(o) => o,
                Err(e) => {
                    // Not this candidate's fault: leave it to a worker that can evaluate it.
                    worker.release(&claim)?;
                    return Err(e);
                }
            };
            std::thread::sleep(self.options.hold);
            let outcome = objective.evaluate(&claim.point).map_err(|e| e.to_string());
            let finish = worker.finish(&claim, outcome.as_ref().map_err(Clone::clone))?;
            let mut served = self.served.lock().expect("served lock");
            match finish {
                Finish::Kept => served.kept += 1,
                Finish::AlreadyKept => served.dropped += 1,
            }
            drop(served);
            (self.on_finish)(&claim, finish);
        }
        Ok(())
    }

    fn objective(&self, worker: &mut Worker, id: i64) -> Result<Arc<dyn Objective + Send + Sync>> {
        let mut cache = self.cache.lock().expect("objective cache lock");
        if let Some(o) = cache.get(&id) {
            return Ok(o.clone());
        }
        let (study, config) = worker.study(id)?;
        let objective = self.objectives.objective(&study, &config)?;
        cache.insert(id, objective.clone());
        Ok(objective)
    }
}
