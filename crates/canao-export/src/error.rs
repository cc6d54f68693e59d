use std::path::PathBuf;

/// Errors of the exporters and the bundle loader; each names the node, tensor or file involved.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("node {node}: `{op}` has no ONNX mapping")]
    Unmapped { node: String, op: String },
    #[error("node {node}: {detail}")]
    Node { node: String, detail: String },
    #[error("tensor @{tensor}: {detail}")]
    Weight { tensor: String, detail: String },
    #[error("graph output {index} has no name; give one name per output")]
    OutputName { index: usize },
    // The I/O error is part of the message rather than a `source`, so that it is not printed
    // twice by reporters that walk the chain.
    #[error("cannot write {path}: {cause}")]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("bundle file {file}: {detail}")]
    Bundle { file: String, detail: String },
    #[error("{file}: {detail}")]
    Report { file: PathBuf, detail: String },
    #[error("ONNX encoding: {0}")]
    Protobuf(String),
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    #[error(transparent)]
    Nn(#[from] canao_models::NnError),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
}

pub type Result<T> = std::result::Result<T, ExportError>;
