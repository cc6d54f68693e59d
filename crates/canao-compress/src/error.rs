/// Errors of the compression methods; each names the parameter, flag or step involved.
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    #[error("sparsity {0} is outside [0, 1)")]
    Sparsity(f64),
    #[error("compression rate {0} must be a finite number of at least 1")]
    Rate(f64),
    #[error("block {0}x{1} must have positive sides")]
    Block(usize, usize),
    #[error("weight `{name}` must be a non-empty matrix, got shape {shape:?}")]
    Shape { name: String, shape: Vec<usize> },
    #[error("unknown structure `{0}` (known: irregular, filter, column, block:RxC, circulant:B)")]
    UnknownStructure(String),
    #[error("weight `{param}`: {detail}")]
    Unreachable { param: String, detail: String },
    #[error("weight `{param}`: group {group} is not finite")]
    NonFinite { param: String, group: usize },
    #[error("{method} after epoch {epoch}: {detail}")]
    Diverged {
        method: &'static str,
        epoch: usize,
        detail: String,
    },
    #[error("setting `{field}` {detail}")]
    Setting { field: String, detail: String },
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
}
