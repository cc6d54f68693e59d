//! Search spaces over students of a BERT-family teacher, read from RON.

mod error;
mod space;

pub use error::{Result, SearchError};
pub use space::{FORMAT_VERSION, SearchSpace, Teacher};
