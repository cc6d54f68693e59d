/// Errors of the CPU backend; each names the node, input or parameter involved.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    #[error("node {node}: the CPU backend has no kernel for this op here ({detail})")]
    Unsupported { node: String, detail: String },
    #[error(transparent)]
    Input(#[from] canao_ir::InputError),
    #[error("node {node}: {detail}")]
    Run { node: String, detail: String },
    #[error("cannot pack @{param}: {detail}")]
    Pack { param: String, detail: String },
    #[error("cannot start {threads} worker threads: {detail}")]
    Threads { threads: usize, detail: String },
    #[error("instruction set {given}: {detail}")]
    Isa { given: String, detail: String },
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
}

pub type Result<T> = std::result::Result<T, CpuError>;
