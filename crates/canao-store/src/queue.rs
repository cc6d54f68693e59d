//! The driver's side: a [`Store`] whose batches go into the study's queue in PostgreSQL. Workers
//! anywhere evaluate them (and so may this process's own threads); the driver collects each
//! result, makes its record and keeps it in the study, where a restarted driver finds it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use canao_search::{Evaluation, Job, Objective, Pending, Record, SearchError, Store};
use postgres::Client;

use crate::error::{Result, StoreError};
use crate::schema::connect;
use crate::study::{self, Study};
use crate::worker::{Worker, heartbeat};

/// The longest wait between two looks for results or work.
const MAX_POLL: Duration = Duration::from_millis(50);

/// How the driver's process takes part.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// The name its claims go under (one per process).
    pub worker: String,
    /// Candidates this process evaluates at once (0: it only coordinates).
    pub threads: usize,
    pub lease: Duration,
}

pub struct PgStore {
    client: Client,
    study: Study,
    workers: Vec<Worker>,
    options: DriverOptions,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("study", &self.study)
            .field("options", &self.options)
            .finish()
    }
}

impl PgStore {
    /// A new study named `name` holding the run's `config`.
    pub fn create(url: &str, name: &str, config: &serde_json::Value, options: DriverOptions) -> Result<Self> {
        let mut client = connect(url)?;
        let study = study::create(&mut client, name, config)?;
        Self::with(url, client, study, options)
    }

    /// The study named `name` again: the store, the run's configuration and its kept records.
    pub fn resume(url: &str, name: &str, options: DriverOptions) -> Result<(Self, serde_json::Value, Vec<Record>)> {
        let mut client = connect(url)?;
        let (study, config) = study::open(&mut client, name)?;
        let records = study::records(&mut client, &study)?;
        Ok((Self::with(url, client, study, options)?, config, records))
    }

    /// The study named `name`, made with `config` if it does not exist yet, and its kept records
    /// (none for a new one): how a comparison's runs continue when it is run again.
    pub fn open_or_create(
        url: &str,
        name: &str,
        config: &serde_json::Value,
        options: DriverOptions,
    ) -> Result<(Self, Vec<Record>)> {
        let mut client = connect(url)?;
        let (study, records) = match study::create(&mut client, name, config) {
            Ok(study) => (study, Vec::new()),
            Err(StoreError::Study { .. }) => {
                let (study, _) = study::open(&mut client, name)?;
                let records = study::records(&mut client, &study)?;
                (study, records)
            }
            Err(e) => return Err(e),
        };
        Ok((Self::with(url, client, study, options)?, records))
    }

    fn with(url: &str, client: Client, study: Study, options: DriverOptions) -> Result<Self> {
        let workers = (0..options.threads)
            .map(|_| Ok(Worker::new(connect(url)?, &options.worker, options.lease)))
            .collect::<Result<_>>()?;
        Ok(Self {
            client,
            study,
            workers,
            options,
        })
    }

    pub fn study(&self) -> &Study {
        &self.study
    }

    /// Marks the study finished, so workers stop serving it.
    pub fn close(mut self) -> Result<()> {
        study::close(&mut self.client, &self.study)
    }

    fn enqueue(&mut self, batch: &[Pending]) -> Result<()> {
        let keys: Vec<&str> = batch.iter().map(|p| p.key.0.as_str()).collect();
        let indices: Vec<i64> = batch.iter().map(|p| p.index as i64).collect();
        let points: Vec<String> = batch
            .iter()
            .map(|p| serde_json::to_string(&p.point).expect("points serialise"))
            .collect();
        self.client
            .execute(
                "INSERT INTO canao_candidates (study, key, idx, point) \
                 SELECT $1, k, i, p::jsonb FROM unnest($2::text[], $3::bigint[], $4::text[]) AS t (k, i, p) \
                 ON CONFLICT (study, key) DO NOTHING",
                &[&self.study.id, &keys, &indices, &points],
            )
            .map_err(StoreError::query("queueing candidates"))?;
        Ok(())
    }
}

impl Store for PgStore {
    fn evaluate(&mut self, batch: &[Pending], job: Job<'_>) -> canao_search::Result<Vec<Record>> {
        self.enqueue(batch)?;
        let Self {
            client,
            study,
            workers,
            options,
        } = self;
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let local: Vec<_> = workers
                .iter_mut()
                .map(|w| s.spawn(|| evaluate_locally(w, study.id, job.objective, &stop)))
                .collect();
            let collected = collect(client, study, options, batch, job, &stop);
            stop.store(true, Ordering::SeqCst);
            let mut local_error = None;
            for handle in local {
                if let Err(e) = handle.join().expect("local worker threads do not panic") {
                    local_error.get_or_insert(e);
                }
            }
            match (collected, local_error) {
                (Err(e), _) => Err(e),
                (Ok(_), Some(e)) => Err(e.into()),
                (Ok(records), None) => Ok(records),
            }
        })
    }
}

/// This process's own share of the work: claims the study's candidates until told to stop (or
/// until it fails, which stops the collection too).
fn evaluate_locally(worker: &mut Worker, study: i64, objective: &dyn Objective, stop: &AtomicBool) -> Result<()> {
    let result = (|| {
        let mut idle = Backoff::default();
        while !stop.load(Ordering::SeqCst) {
            match worker.claim(Some(study))? {
                Some(claim) => {
                    let outcome = objective.evaluate(&claim.point).map_err(|e| e.to_string());
                    worker.finish(&claim, outcome.as_ref().map_err(Clone::clone))?;
                    idle.reset();
                }
                None => idle.wait(),
            }
        }
        Ok(())
    })();
    if result.is_err() {
        stop.store(true, Ordering::SeqCst);
    }
    result
}

/// Waits for the batch's results, keeps a record of each in the study as it arrives and keeps
/// this process's leases alive meanwhile. Returns early (with what it has) if `stop` is set by a
/// failing local worker.
fn collect(
    client: &mut Client,
    study: &Study,
    options: &DriverOptions,
    batch: &[Pending],
    job: Job<'_>,
    stop: &AtomicBool,
) -> canao_search::Result<Vec<Record>> {
    let mut waiting: HashMap<&str, &Pending> = batch.iter().map(|p| (p.key.0.as_str(), p)).collect();
    let mut records = Vec::with_capacity(batch.len());
    let mut idle = Backoff::default();
    let mut beat = Instant::now();
    while !waiting.is_empty() && !stop.load(Ordering::SeqCst) {
        let keys: Vec<&str> = waiting.keys().copied().collect();
        let rows = client
            .query(
                "SELECT key, state, result::text, error FROM canao_candidates \
                 WHERE study = $1 AND key = ANY($2) AND state IN ('done', 'failed')",
                &[&study.id, &keys],
            )
            .map_err(StoreError::query("collecting results"))?;
        let mut arrived = Vec::with_capacity(rows.len());
        for row in &rows {
            let key: &str = row.get(0);
            let pending = waiting.remove(key).expect("only waited-for keys are selected");
            if row.get::<_, &str>(1) == "failed" {
                return Err(SearchError::Evaluation {
                    candidate: key.to_string(),
                    detail: row.get::<_, Option<String>>(3).unwrap_or_default(),
                });
            }
            let evaluation: Evaluation = serde_json::from_str(row.get(2)).map_err(|e| StoreError::Json {
                what: "the result",
                study: study.id,
                key: key.to_string(),
                detail: e.to_string(),
            })?;
            arrived.push((job.record)(pending, evaluation)?);
        }
        if arrived.is_empty() {
            idle.wait();
        } else {
            keep(client, study, &arrived)?;
            arrived.iter().for_each(job.on_record);
            records.extend(arrived);
            idle.reset();
        }
        if options.threads > 0 && beat.elapsed() > options.lease / 3 {
            heartbeat(client, &options.worker, options.lease)?;
            beat = Instant::now();
        }
    }
    Ok(records)
}

/// Writes the driver's records of arrived results into the study.
fn keep(client: &mut Client, study: &Study, records: &[Record]) -> Result<()> {
    let keys: Vec<&str> = records.iter().map(|r| r.key.0.as_str()).collect();
    let texts: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).expect("records serialise"))
        .collect();
    client
        .execute(
            "UPDATE canao_candidates c SET record = r.record::jsonb \
             FROM unnest($2::text[], $3::text[]) AS r (key, record) WHERE c.study = $1 AND c.key = r.key",
            &[&study.id, &keys, &texts],
        )
        .map_err(StoreError::query("keeping records"))?;
    Ok(())
}

/// Polling that starts fast (bookkeeping of quick objectives) and slows to [`MAX_POLL`] while
/// nothing happens (long evaluations).
#[derive(Debug)]
pub(crate) struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self(Duration::from_millis(1))
    }
}

impl Backoff {
    pub(crate) fn wait(&mut self) {
        std::thread::sleep(self.0);
        self.0 = (self.0 * 2).min(MAX_POLL);
    }

    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}
