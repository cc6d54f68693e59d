//! Connecting to the server and bringing its schema to this build's version. Migrations are the
//! SQL files in `migrations/`, applied in order under an advisory lock, so drivers and workers
//! that start together migrate once.

use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};

use crate::error::{Result, StoreError, Target};

/// The migrations, in order: version n is the n-th.
const MIGRATIONS: [&str; 1] = [include_str!("../migrations/0001_studies_and_candidates.sql")];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Any fixed number: the advisory lock migrations hold.
const MIGRATION_LOCK: i64 = 0x63616e616f;

/// Opens a connection to `url` and checks (or brings) the schema to [`SCHEMA_VERSION`].
pub fn connect(url: &str) -> Result<Client> {
    let config: Config = url.parse().map_err(|e: postgres::Error| StoreError::Url {
        url: redact(url),
        detail: e.to_string(),
    })?;
    let target = target(&config);
    let mut client = config.connect(NoTls).map_err(|e| connect_error(&target, e))?;
    migrate(&mut client)?;
    Ok(client)
}

fn target(config: &Config) -> Target {
    let host = config.get_hosts().first().map_or_else(
        || "the default host".to_string(),
        |h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        },
    );
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("(none)").to_string();
    Target {
        database: config.get_dbname().unwrap_or(&user).to_string(),
        user,
        host: format!("{host}:{port}"),
    }
}

fn connect_error(target: &Target, e: postgres::Error) -> StoreError {
    let target = target.clone();
    match e.code() {
        Some(c) if *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            StoreError::Login {
                target,
                detail: e
                    .as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_string()),
            }
        }
        Some(c) if *c == SqlState::UNDEFINED_DATABASE => StoreError::NoDatabase { target },
        _ => StoreError::Unreachable {
            target,
            detail: std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string()),
        },
    }
}

/// The URL (or key=value string) with its password replaced, for messages.
fn redact(url: &str) -> String {
    if !url.contains("://") {
        return url
            .split_whitespace()
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***"
                } else {
                    kv
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{}", &url[..scheme + 3 + colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    let step = StoreError::query("migrating the schema");
    let mut tx = client.transaction().map_err(&step)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(&step)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS canao_schema (version integer NOT NULL)")
        .map_err(&step)?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM canao_schema", &[])
        .map_err(&step)?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaVersion {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (version, sql) in (1..).zip(MIGRATIONS).skip(found as usize) {
        tx.batch_execute(sql).map_err(&step)?;
        tx.execute("INSERT INTO canao_schema (version) VALUES ($1)", &[&version])
            .map_err(&step)?;
    }
    tx.commit().map_err(&step)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redact("postgres://u:secret@h:5/db"), "postgres://u:***@h:5/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("host=h user=u"), "host=h user=u");
        assert_eq!(redact("host=h password=secret user=u"), "host=h password=*** user=u");
    }
}
