//! A search's log and candidate queue in PostgreSQL, for many workers on many machines. The
//! driver (`canao search --storage URL`) runs the strategy and queues each batch
//! ([`PgStore`]); workers (`canao worker`) claim candidates with `FOR UPDATE SKIP LOCKED`,
//! evaluate them under a heartbeat-extended lease and write each result once ([`serve`]). The
//! schema is versioned by the migrations in `migrations/`.

mod cluster;
mod error;
mod queue;
mod schema;
mod serve;
mod study;
mod worker;

pub use cluster::{PASSWORD, REQUIRE_ENV, TempCluster};
pub use error::{Result, StoreError, Target};
pub use queue::{DriverOptions, PgStore};
pub use schema::{SCHEMA_VERSION, connect};
pub use serve::{Objectives, ServeOptions, Served, serve};
pub use study::{Study, records_of};
pub use worker::{Claim, Finish, Worker, heartbeat};
