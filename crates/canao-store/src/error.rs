//! Errors of the PostgreSQL store. Connection failures say which server and user were tried
//! (never the password) and what to do.

/// Where a URL points, without its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub user: String,
    pub host: String,
    pub database: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "user `{}` at {}, database `{}`", self.user, self.host, self.database)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "--storage `{url}` is not a PostgreSQL URL ({detail}); expected postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    Url { url: String, detail: String },
    #[error(
        "cannot reach PostgreSQL ({target}): {detail}; is the server running and listening there (its port, listen_addresses and pg_hba.conf)?"
    )]
    Unreachable { target: Target, detail: String },
    #[error("PostgreSQL refused the login ({target}): {detail}; check the user and password in the --storage URL")]
    Login { target: Target, detail: String },
    #[error("PostgreSQL has no database `{}` ({target}); create it first (createdb {0})", target.database)]
    NoDatabase { target: Target },
    #[error(
        "the database holds canao schema version {found}, this build knows versions up to {known}: run the same canao \
         version on every driver and worker (upgrade this one)"
    )]
    SchemaVersion { found: i32, known: i32 },
    #[error("study `{name}`: {detail}")]
    Study { name: String, detail: String },
    #[error("PostgreSQL, {step}: {detail}")]
    Query { step: &'static str, detail: String },
    #[error("{what} of candidate {key} in study {study} is not valid JSON for it: {detail}")]
    Json {
        what: &'static str,
        study: i64,
        key: String,
        detail: String,
    },
    #[error(transparent)]
    Search(#[from] canao_search::SearchError),
    #[error("throw-away PostgreSQL cluster: {0}")]
    Cluster(String),
}

impl StoreError {
    /// A failed statement, named by what it was doing.
    pub(crate) fn query(step: &'static str) -> impl Fn(postgres::Error) -> StoreError {
        move |e| StoreError::Query {
            step,
            detail: e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string()),
        }
    }
}

impl From<StoreError> for canao_search::SearchError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Search(e) => e,
            e => canao_search::SearchError::Store(Box::new(e)),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
