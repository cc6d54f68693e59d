/// Errors of the WGSL backend; each names the node, input or parameter involved.
#[derive(Debug, thiserror::Error)]
pub enum WgslError {
    #[error("node {node}: the WGSL backend has no kernel for this op here ({detail})")]
    Unsupported { node: String, detail: String },
    #[error("node {node}: {detail}")]
    TooLarge { node: String, detail: String },
    #[error("node {node}: {detail}")]
    Ids { node: String, detail: String },
    #[error("no wgpu adapter: {0}")]
    NoAdapter(String),
    #[error("wgpu: {0}")]
    Device(String),
    #[error(transparent)]
    Input(#[from] canao_ir::InputError),
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
}

pub type Result<T> = std::result::Result<T, WgslError>;
