use std::path::PathBuf;

/// Errors of the GNN crate; each names the input at fault.
#[derive(Debug, thiserror::Error)]
pub enum GnnError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A dataset file that is not a well-formed graph: the tensor (or row) and what is wrong.
    #[error("dataset {}: {item}: {detail}", path.display())]
    Dataset {
        path: PathBuf,
        item: String,
        detail: String,
    },
    /// A perturbation file (`flips.csv`): the 1-based line and what is wrong.
    #[error("flips {} line {line}: {detail}", path.display())]
    Flips { path: PathBuf, line: usize, detail: String },
    /// A setting outside its range (budget, hidden width, epochs, ...).
    #[error("setting `{field}`: {detail}")]
    Config { field: String, detail: String },
    /// Shapes that do not fit together (weights against a graph, a flip outside the graph).
    #[error("{0}")]
    Shape(String),
}

pub type Result<T> = std::result::Result<T, GnnError>;

pub(crate) fn config_err<T>(field: &str, detail: impl Into<String>) -> Result<T> {
    Err(GnnError::Config {
        field: field.into(),
        detail: detail.into(),
    })
}
