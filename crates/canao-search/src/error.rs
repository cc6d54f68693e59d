/// Errors of the search crate; each names the file and field involved.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{origin}: {detail}")]
    Ron { origin: String, detail: String },
    #[error("{origin}: field `{field}`: {detail}")]
    Field {
        origin: String,
        field: String,
        detail: String,
    },
    #[error("architecture is outside space `{space}`: `{field}` {detail}")]
    Outside {
        space: String,
        field: String,
        detail: String,
    },
    #[error("{path}: {detail}")]
    Io { path: std::path::PathBuf, detail: String },
    #[error("{path}:{line}: not a search log record: {detail}")]
    Log {
        path: std::path::PathBuf,
        line: usize,
        detail: String,
    },
    #[error("point {point:?}: {detail}")]
    Point { point: Vec<usize>, detail: String },
    #[error("evaluating {candidate}: {detail}")]
    Evaluation { candidate: String, detail: String },
    #[error("configuration: `{field}` {detail}")]
    Config { field: String, detail: String },
    /// A store other than the file log failed (canao-store's PostgreSQL queue).
    #[error(transparent)]
    Store(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Nn(#[from] canao_models::NnError),
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    /// The backend candidates run on failed (preparing or running a graph).
    #[error("backend: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Latency(#[from] canao_latency::LatencyError),
    /// Drawing or assigning pattern candidates failed.
    #[error(transparent)]
    Compress(#[from] canao_compress::CompressError),
}

pub type Result<T> = std::result::Result<T, SearchError>;

/// Wraps an error of the injected backend.
pub(crate) fn backend(e: impl std::error::Error + Send + Sync + 'static) -> SearchError {
    SearchError::Backend(Box::new(e))
}
