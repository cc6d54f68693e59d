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
}

pub type Result<T> = std::result::Result<T, SearchError>;
