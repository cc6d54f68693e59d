//! Compression methods that yield IR sparsity: the structures a weight is pruned to with their
//! projections, one-shot magnitude pruning, RT3's pattern candidates, and the ADMM / SLR
//! splitting that trains a model towards a structure.

mod error;
mod magnitude;
mod pattern;
mod splitting;
mod structure;

pub use error::CompressError;
pub use magnitude::block_magnitude;
pub use pattern::{
    CandidateConfig, Candidates, RT3_SPARSITY_LEVELS, assign_patterns, pattern_candidates, with_pattern_sets,
};
pub use splitting::{Layer, SlrParams, SplitMethod, SplitReport, Splitting};
pub use structure::{Rows, Structure};
