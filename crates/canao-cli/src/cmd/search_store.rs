//! Where a `canao search` run keeps its records: the run folder's log.jsonl, or a PostgreSQL
//! study that workers on other machines evaluate (`--storage`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use canao_search::{LocalStore, Record, RunConfig, SearchLog, Store};
use canao_store::{DriverOptions, PgStore};

use crate::cmd::train_report::write_atomic;

/// How long a claim lasts without a heartbeat: a dead worker's candidate is queued again this
/// long after its last heartbeat.
pub const DEFAULT_LEASE_S: f64 = 30.0;

/// What the command line says about storage and this process's share of the evaluations.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    pub url: Option<String>,
    /// Candidates evaluated here at once.
    pub threads: usize,
    pub lease: Duration,
}

impl StorageOptions {
    fn driver(&self) -> DriverOptions {
        DriverOptions {
            worker: worker_name("driver"),
            threads: self.threads,
            lease: self.lease,
        }
    }
}

#[derive(Debug)]
pub enum RunStore {
    File(LocalStore),
    Postgres(Box<PgStore>),
}

impl RunStore {
    /// The store of a new run (its run.ron already written).
    pub fn create(dir: &Path, config: &RunConfig, options: &StorageOptions) -> Result<Self> {
        match (&options.url, &config.study) {
            (Some(url), Some(study)) => {
                let json = serde_json::to_value(config).context("the run configuration as JSON")?;
                Ok(Self::Postgres(Box::new(PgStore::create(
                    url,
                    study,
                    &json,
                    options.driver(),
                )?)))
            }
            _ => Ok(Self::File(LocalStore::new(
                SearchLog::create(&dir.join("log.jsonl"))?,
                options.threads,
            )?)),
        }
    }

    /// The store of a resumed run and the records kept in it.
    pub fn resume(dir: &Path, study: Option<&str>, options: &StorageOptions) -> Result<(Self, Vec<Record>)> {
        match (study, &options.url) {
            (Some(study), Some(url)) => {
                let (store, _, records) = PgStore::resume(url, study, options.driver())?;
                Ok((Self::Postgres(Box::new(store)), records))
            }
            (Some(study), None) => bail!(
                "{}: the run's records are in PostgreSQL study `{study}`: give --storage with the URL it started with",
                dir.display()
            ),
            (None, Some(_)) => bail!(
                "{}: the run keeps its records in its log.jsonl, not in a database: drop --storage",
                dir.display()
            ),
            (None, None) => {
                let (log, records) = SearchLog::resume(&dir.join("log.jsonl"))?;
                Ok((Self::File(LocalStore::new(log, options.threads)?), records))
            }
        }
    }

    /// A comparison's run: continued if its log or study exists, else new.
    pub fn open_or_create(dir: &Path, config: &RunConfig, options: &StorageOptions) -> Result<(Self, Vec<Record>)> {
        match (&options.url, &config.study) {
            (Some(url), Some(study)) => {
                let json = serde_json::to_value(config).context("the run configuration as JSON")?;
                let (store, records) = PgStore::open_or_create(url, study, &json, options.driver())?;
                Ok((Self::Postgres(Box::new(store)), records))
            }
            _ if dir.join("log.jsonl").exists() => Self::resume(dir, None, options),
            _ => Ok((Self::create(dir, config, options)?, Vec::new())),
        }
    }

    pub fn store(&mut self) -> &mut dyn Store {
        match self {
            Self::File(s) => s,
            Self::Postgres(s) => s.as_mut(),
        }
    }

    /// Ends the run. A study is closed, so its workers stop, and its records are copied to the
    /// run folder's log.jsonl, which the folder's readers (its page, `jq`) expect.
    pub fn finish(self, dir: &Path, records: &[Record]) -> Result<()> {
        if let Self::Postgres(s) = self {
            s.close()?;
            let mut text = String::new();
            for r in records {
                text += &serde_json::to_string(r)?;
                text.push('\n');
            }
            write_atomic(&dir.join("log.jsonl"), text.as_bytes())?;
        }
        Ok(())
    }
}

/// This process's name in the queue: host, process id and role.
pub fn worker_name(role: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map_or_else(|| "host".to_string(), |h| h.trim().to_string());
    format!("{host}:{}:{role}", std::process::id())
}
