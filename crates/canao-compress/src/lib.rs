//! Compression methods that yield IR sparsity.

mod magnitude;

pub use magnitude::{CompressError, block_magnitude};
