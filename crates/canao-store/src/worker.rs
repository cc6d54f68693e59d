//! The worker's side of the queue: claim the oldest open candidate with `FOR UPDATE SKIP
//! LOCKED` (so workers never wait on each other's claims), hold it under a lease that a
//! heartbeat extends, and write the result once. A worker that dies stops its heartbeat; when
//! its lease runs out any worker may claim the candidate again. Whichever result comes first is
//! kept and later ones are dropped, so a candidate is in the run once however often it ran.

use std::time::Duration;

use canao_search::Evaluation;
use canao_search::strategy::Point;
use postgres::Client;

use crate::error::{Result, StoreError};

/// A candidate this worker holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub study: i64,
    pub key: String,
    pub point: Point,
}

/// One connection's worth of worker: claims, finishes and releases candidates under its name.
pub struct Worker {
    client: Client,
    name: String,
    lease: Duration,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.name)
            .field("lease", &self.lease)
            .finish()
    }
}

/// What became of a finished candidate's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Kept,
    /// Another worker's result for it was kept first (this one's lease had run out).
    AlreadyKept,
}

impl Worker {
    pub fn new(client: Client, name: &str, lease: Duration) -> Self {
        Self {
            client,
            name: name.to_string(),
            lease,
        }
    }

    /// The oldest candidate of an open study (of `study` only, if given) that is queued or whose
    /// lease has run out, now held by this worker; `None` when there is none.
    pub fn claim(&mut self, study: Option<i64>) -> Result<Option<Claim>> {
        let row = self
            .client
            .query_opt(
                "UPDATE canao_candidates c SET state = 'running', worker = $1, attempts = c.attempts + 1, \
                     heartbeat = now(), lease_until = now() + make_interval(secs => $2) \
                 FROM (SELECT k.study, k.key FROM canao_candidates k JOIN canao_studies s ON s.id = k.study \
                       WHERE s.state = 'open' AND ($3::bigint IS NULL OR k.study = $3) \
                         AND (k.state = 'queued' OR (k.state = 'running' AND k.lease_until < now())) \
                       ORDER BY k.study, k.idx LIMIT 1 FOR UPDATE OF k SKIP LOCKED) AS pick \
                 WHERE c.study = pick.study AND c.key = pick.key \
                 RETURNING c.study, c.key, c.point::text",
                &[&self.name, &self.lease.as_secs_f64(), &study],
            )
            .map_err(StoreError::query("claiming a candidate"))?;
        let Some(row) = row else { return Ok(None) };
        let (study, key): (i64, String) = (row.get(0), row.get(1));
        let point = serde_json::from_str(row.get(2)).map_err(|e| StoreError::Json {
            what: "the point",
            study,
            key: key.clone(),
            detail: e.to_string(),
        })?;
        Ok(Some(Claim { study, key, point }))
    }

    /// Writes the evaluation of a claimed candidate, or why it failed (a failure is final: the
    /// driver reports it and stops).
    pub fn finish(&mut self, claim: &Claim, outcome: std::result::Result<&Evaluation, String>) -> Result<Finish> {
        let step = StoreError::query("writing a result");
        let n = match outcome {
            Ok(evaluation) => {
                let result = serde_json::to_value(evaluation).expect("evaluations serialise");
                self.client.execute(
                    "UPDATE canao_candidates SET state = 'done', result = $3, worker = $4, finished_at = now(), \
                         lease_until = NULL \
                     WHERE study = $1 AND key = $2 AND state NOT IN ('done', 'failed')",
                    &[&claim.study, &claim.key, &result, &self.name],
                )
            }
            Err(error) => self.client.execute(
                "UPDATE canao_candidates SET state = 'failed', error = $3, worker = $4, finished_at = now(), \
                     lease_until = NULL \
                 WHERE study = $1 AND key = $2 AND state NOT IN ('done', 'failed')",
                &[&claim.study, &claim.key, &error, &self.name],
            ),
        }
        .map_err(step)?;
        Ok(if n == 1 { Finish::Kept } else { Finish::AlreadyKept })
    }

    /// Gives a claimed candidate back to the queue unevaluated (this worker cannot evaluate it).
    pub fn release(&mut self, claim: &Claim) -> Result<()> {
        self.client
            .execute(
                "UPDATE canao_candidates SET state = 'queued', lease_until = NULL \
                 WHERE study = $1 AND key = $2 AND state = 'running' AND worker = $3",
                &[&claim.study, &claim.key, &self.name],
            )
            .map_err(StoreError::query("releasing a candidate"))?;
        Ok(())
    }

    /// A study's name and configuration, by id.
    pub fn study(&mut self, id: i64) -> Result<(crate::study::Study, serde_json::Value)> {
        crate::study::config(&mut self.client, id)
    }

    /// Whether any study this worker serves (`study`, or all) is still open.
    pub fn serving(&mut self, study: Option<i64>) -> Result<bool> {
        Ok(self
            .client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM canao_studies WHERE state = 'open' AND ($1::bigint IS NULL OR id = $1))",
                &[&study],
            )
            .map_err(StoreError::query("looking for open studies"))?
            .get(0))
    }
}

/// Extends the lease of every candidate `worker` holds; called a few times per lease.
pub fn heartbeat(client: &mut Client, worker: &str, lease: Duration) -> Result<()> {
    client
        .execute(
            "UPDATE canao_candidates SET heartbeat = now(), lease_until = now() + make_interval(secs => $2) \
             WHERE worker = $1 AND state = 'running'",
            &[&worker, &lease.as_secs_f64()],
        )
        .map_err(StoreError::query("heartbeat"))?;
    Ok(())
}
