/// Errors of the CPU backend; each names the node, input or parameter involved.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    #[error("node {node}: the CPU backend has no kernel for this op here ({detail})")]
    Unsupported { node: String, detail: String },
    #[error("graph input `{name}` was not given")]
    MissingInput { name: String },
    #[error("`{name}` is not an input of this graph (inputs: {known})")]
    UnknownInput { name: String, known: String },
    #[error("graph input `{name}` has shape {got:?}, expected {expected:?}")]
    InputShape {
        name: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("node {node}: {detail}")]
    Run { node: String, detail: String },
    #[error("cannot pack @{param}: {detail}")]
    Pack { param: String, detail: String },
    #[error("cannot start {threads} worker threads: {detail}")]
    Threads { threads: usize, detail: String },
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
}

pub type Result<T> = std::result::Result<T, CpuError>;
