/// Errors of the IR; each names the node, parameter, or text position involved.
#[derive(Debug, thiserror::Error)]
pub enum IrError {
    #[error("node {node}: {detail}")]
    Shape {
        node: String,
        detail: crate::op::ShapeError,
    },
    #[error("node {node} refers to node {missing}, which does not exist")]
    DanglingInput { node: String, missing: String },
    #[error("parameter @{param}: {detail}")]
    Param { param: String, detail: String },
    #[error("line {line}, column {column}: {detail}")]
    Parse { line: usize, column: usize, detail: String },
    #[error("architecture field `{field}`: {detail}")]
    Arch { field: String, detail: String },
    #[error("{origin}: {detail}")]
    Ron { origin: String, detail: String },
    #[error("rewrite `{rule}` at {node}: {detail}")]
    Rewrite {
        rule: &'static str,
        node: String,
        detail: String,
    },
    #[error("weights: {0}")]
    Weights(String),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
}

pub type Result<T> = std::result::Result<T, IrError>;
