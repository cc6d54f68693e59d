/// Errors of the interpreter; each names the input, node or parameter involved.
#[derive(Debug, thiserror::Error)]
pub enum InterpError {
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
    Node { node: String, detail: String },
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
}

pub type Result<T> = std::result::Result<T, InterpError>;
