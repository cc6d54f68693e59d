//! Privacy in canao. Federated learning whose clients send top-k sparsified updates, with
//! error feedback, sealed by AES-256-GCM for an aggregator behind an explicit enclave boundary
//! (ESMFL, arXiv 2009.01867; `ALGORITHMS.md` §8); gradient leakage, SAPAG against DLG (§7);
//! membership inference and DP-SGD (§9).

pub mod client;
pub mod dp;
pub mod enclave;
mod error;
pub mod federation;
pub mod layout;
pub mod leak;
pub mod local;
pub mod mia;
pub mod partition;
pub mod seal;
pub mod state;
pub mod topk;
pub mod wire;

pub use enclave::{Enclave, InProcessEnclave};
pub use error::{PrivacyError, Rejection, RejectionKind, Result};
pub use federation::{Arm, ArmState, Federation, FlConfig, RoundRecord};
pub use local::LocalTraining;
pub use partition::Partition;
pub use seal::{Key, Keys};
pub use topk::{Density, ErrorFeedback};
