//! Membership inference (MCMIA, arXiv 2008.13578; `ALGORITHMS.md` §9): scores an attacker
//! computes from a model's outputs, and how well they find the members.

pub mod roc;
pub mod scores;

pub use roc::Roc;
pub use scores::{confidence_score, lira_offline, loss_score, scaled_confidence, true_class_probability};
