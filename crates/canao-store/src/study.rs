//! Studies: one per search run, holding the run's resolved configuration (for workers) and its
//! candidates' records (for a resumed driver).

use canao_search::Record;
use postgres::Client;

use crate::error::{Result, StoreError};

/// A study as drivers and workers name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Study {
    pub id: i64,
    pub name: String,
}

/// Registers a new study; a name already taken is an error (resume that study instead).
pub fn create(client: &mut Client, name: &str, config: &serde_json::Value) -> Result<Study> {
    let row = client
        .query_opt(
            "INSERT INTO canao_studies (name, config) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id",
            &[&name, config],
        )
        .map_err(StoreError::query("creating the study"))?;
    match row {
        Some(row) => Ok(Study {
            id: row.get(0),
            name: name.to_string(),
        }),
        None => Err(StoreError::Study {
            name: name.to_string(),
            detail: "already exists in this database; continue it with --resume, or name the run otherwise (--out)"
                .into(),
        }),
    }
}

/// An existing study and its configuration; it is reopened if a finished run is extended.
pub fn open(client: &mut Client, name: &str) -> Result<(Study, serde_json::Value)> {
    let row = client
        .query_opt(
            "UPDATE canao_studies SET state = 'open', closed_at = NULL WHERE name = $1 RETURNING id, config",
            &[&name],
        )
        .map_err(StoreError::query("opening the study"))?
        .ok_or_else(|| StoreError::Study {
            name: name.to_string(),
            detail: "is not in this database (is --storage the URL the run started with?)".into(),
        })?;
    Ok((
        Study {
            id: row.get(0),
            name: name.to_string(),
        },
        row.get(1),
    ))
}

/// The records the driver kept, in the order of the run.
pub fn records(client: &mut Client, study: &Study) -> Result<Vec<Record>> {
    let rows = client
        .query(
            "SELECT key, record::text FROM canao_candidates WHERE study = $1 AND record IS NOT NULL \
             ORDER BY (record->>'index')::bigint",
            &[&study.id],
        )
        .map_err(StoreError::query("reading the study's records"))?;
    rows.iter()
        .map(|row| {
            serde_json::from_str(row.get(1)).map_err(|e| StoreError::Json {
                what: "the record",
                study: study.id,
                key: row.get(0),
                detail: e.to_string(),
            })
        })
        .collect()
}

/// Marks a study finished: workers stop taking its candidates.
pub fn close(client: &mut Client, study: &Study) -> Result<()> {
    client
        .execute(
            "UPDATE canao_studies SET state = 'closed', closed_at = now() WHERE id = $1",
            &[&study.id],
        )
        .map_err(StoreError::query("closing the study"))?;
    Ok(())
}

/// The configuration of a study by id (what a worker builds its objective from).
pub fn config(client: &mut Client, id: i64) -> Result<(Study, serde_json::Value)> {
    let row = client
        .query_one("SELECT name, config FROM canao_studies WHERE id = $1", &[&id])
        .map_err(StoreError::query("reading a study's configuration"))?;
    Ok((Study { id, name: row.get(0) }, row.get(1)))
}

/// The id of an existing study, by name.
pub fn find(client: &mut Client, name: &str) -> Result<Study> {
    let row = client
        .query_opt("SELECT id FROM canao_studies WHERE name = $1", &[&name])
        .map_err(StoreError::query("finding the study"))?
        .ok_or_else(|| StoreError::Study {
            name: name.to_string(),
            detail: "is not in this database".into(),
        })?;
    Ok(Study {
        id: row.get(0),
        name: name.to_string(),
    })
}

/// The records of the study named `name`, in the order of the run.
pub fn records_of(client: &mut Client, name: &str) -> Result<Vec<Record>> {
    let study = find(client, name)?;
    records(client, &study)
}
