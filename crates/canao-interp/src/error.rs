/// Errors of the interpreter; each names the input, node or parameter involved.
#[derive(Debug, thiserror::Error)]
pub enum InterpError {
    #[error(transparent)]
    Input(#[from] canao_ir::InputError),
    #[error("node {node}: {detail}")]
    Node { node: String, detail: String },
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
}

pub type Result<T> = std::result::Result<T, InterpError>;
