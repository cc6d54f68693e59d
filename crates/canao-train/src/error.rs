use std::path::PathBuf;

/// Errors of training; each names the file, parameter, field or step involved.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("parameter @{param}: {detail}")]
    Param { param: String, detail: String },
    #[error("{file}: {detail}")]
    Data { file: PathBuf, detail: String },
    #[error("task `{name}` does not exist (known: {known})")]
    UnknownTask { name: String, known: String },
    #[error("model `{model}` does not fit task `{task}` (that task takes `{fits}`)")]
    TaskModel { task: String, model: String, fits: String },
    #[error("split: {0}")]
    Split(String),
    #[error("configuration: `{field}` {detail}")]
    Config { field: String, detail: String },
    #[error("checkpoint {file}: {detail}")]
    Checkpoint { file: PathBuf, detail: String },
    #[error(
        "loss is {loss} at step {step} (epoch {epoch}); the last good checkpoint is {}",
        last_good.as_ref().map_or("none (no checkpoint was written yet)".to_string(), |p| p.display().to_string())
    )]
    NonFiniteLoss {
        step: u64,
        epoch: usize,
        loss: f32,
        last_good: Option<PathBuf>,
    },
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Nn(#[from] canao_models::NnError),
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
    #[error(transparent)]
    Compress(#[from] canao_compress::CompressError),
}

pub type Result<T> = std::result::Result<T, TrainError>;

/// Wraps an I/O error with the file it happened on.
pub(crate) fn io(file: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> TrainError {
    let file = file.into();
    move |source| TrainError::Io { file, source }
}
