use std::path::PathBuf;

/// Errors of the tensor crate; each names the tensor or file involved.
#[derive(Debug, thiserror::Error)]
pub enum TensorError {
    #[error("shape {shape:?} holds {expected} elements but {got} values were given")]
    DataLength {
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid safetensors file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path} has no tensor named `{name}`")]
    Missing { path: PathBuf, name: String },
    #[error("tensor `{name}` in {path} has dtype {dtype}; only F32 can be loaded as weights")]
    Dtype { path: PathBuf, name: String, dtype: String },
    #[error("tensor `{name}` contains a non-finite value at flat index {index}")]
    NonFinite { name: String, index: usize },
    #[error("CSR matrix is malformed: {0}")]
    Csr(String),
}

pub type Result<T> = std::result::Result<T, TensorError>;
