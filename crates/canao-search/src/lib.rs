//! Search spaces over students of a BERT-family teacher, read from RON, and the strategies,
//! runner and evaluators that search them.

mod encoding;
mod error;
mod space;
pub mod strategy;

pub use error::{Result, SearchError};
pub use space::{FORMAT_VERSION, SearchSpace, Teacher};
