//! Differentially private training: DP-SGD and its accountant, the baseline a membership
//! inference defence is measured against.

pub mod accountant;
pub mod sgd;

pub use sgd::{DpSgd, Spent};
