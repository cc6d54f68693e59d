use std::path::PathBuf;

use crate::assets::AssetError;

/// Errors of the model layer; each names the file, tensor or input involved.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    #[error(transparent)]
    Asset(#[from] AssetError),
    #[error("{file}: {detail}")]
    Config { file: PathBuf, detail: String },
    #[error("{file}: {detail}")]
    Data { file: PathBuf, detail: String },
    #[error("tokenizer {file}: {detail}")]
    Tokenizer { file: PathBuf, detail: String },
    /// `index` counts from 0; the message numbers texts from 1, as `canao embed` labels them.
    #[error(
        "text [{}] is {tokens} tokens long but the model has {max} positions; shorten it or pass --truncate",
        .index + 1
    )]
    TooLong { index: usize, tokens: usize, max: usize },
    #[error("{file} has no tensor `{tensor}` (needed for parameter @{param})")]
    MissingTensor {
        file: PathBuf,
        tensor: String,
        param: String,
    },
    #[error("{file} has tensor `{tensor}` that the model does not use")]
    ExtraTensor { file: PathBuf, tensor: String },
    #[error("tensor `{tensor}` in {file} has shape {got:?}, the model expects {expected:?}")]
    MisshapedTensor {
        file: PathBuf,
        tensor: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("cannot pad a text of {tokens} tokens to {len}: padding only lengthens")]
    Padding { tokens: usize, len: usize },
    #[error("student architecture: `{field}` {detail}")]
    Student { field: String, detail: String },
    #[error("backend: {0}")]
    Backend(String),
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
}

pub type Result<T> = std::result::Result<T, NnError>;
