use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Errors of the privacy methods; each names the file, field, client or round involved.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("configuration: `{field}` {detail}")]
    Config { field: String, detail: String },
    #[error("{file}: {detail}")]
    Corrupt { file: PathBuf, detail: String },
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("client {client}, round {round}: {rejection}")]
    Rejected {
        client: u32,
        round: u32,
        rejection: Rejection,
    },
    #[error("client {client}, round {round}: the local training loss is {loss}")]
    NonFiniteLoss { client: u32, round: u32, loss: f32 },
    /// The caller's per-round hook (writing reports) failed; the round itself was saved.
    #[error("after the round: {0}")]
    Hook(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Train(#[from] canao_train::TrainError),
    #[error(transparent)]
    Ir(#[from] canao_ir::IrError),
    #[error(transparent)]
    Tensor(#[from] canao_tensor::TensorError),
}

pub type Result<T> = std::result::Result<T, PrivacyError>;

/// Why a sealed message was refused. The round goes on without it; the refusal is counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The bytes do not parse as a sealed message or its body as an update.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Authentication failed: the ciphertext, its header or its key is not what was sealed.
    #[error("authentication failed (tampered, or sealed under another key)")]
    Tampered,
    /// A message already accepted this round, sent again.
    #[error("replayed: this message was already accepted this round")]
    Replayed,
    #[error("sealed for round {got}, the enclave is in round {want}")]
    WrongRound { got: u32, want: u32 },
    /// Arrived on one client's channel but says it is from another.
    #[error("arrived from client {slot} but is sealed as client {claimed}'s")]
    WrongClient { claimed: u32, slot: u32 },
    #[error("client {0} is not taking part in this round")]
    NotSampled(u32),
    #[error("trained from model {got:016x}, the round's model is {want:016x}")]
    StaleModel { got: u64, want: u64 },
    #[error("a broadcast (downlink) message offered as an update")]
    WrongDirection,
}

/// The kinds of [`Rejection`], for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RejectionKind {
    Malformed,
    Tampered,
    Replayed,
    WrongRound,
    WrongClient,
    NotSampled,
    StaleModel,
    WrongDirection,
}

impl Rejection {
    pub fn kind(&self) -> RejectionKind {
        match self {
            Rejection::Malformed(_) => RejectionKind::Malformed,
            Rejection::Tampered => RejectionKind::Tampered,
            Rejection::Replayed => RejectionKind::Replayed,
            Rejection::WrongRound { .. } => RejectionKind::WrongRound,
            Rejection::WrongClient { .. } => RejectionKind::WrongClient,
            Rejection::NotSampled(_) => RejectionKind::NotSampled,
            Rejection::StaleModel { .. } => RejectionKind::StaleModel,
            Rejection::WrongDirection => RejectionKind::WrongDirection,
        }
    }
}

/// Wraps an I/O error with the file it happened on.
pub(crate) fn io(file: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PrivacyError {
    let file = file.into();
    move |source| PrivacyError::Io { file, source }
}

pub(crate) fn config(field: &str, detail: impl Into<String>) -> PrivacyError {
    PrivacyError::Config {
        field: field.into(),
        detail: detail.into(),
    }
}
