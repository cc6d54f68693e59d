//! CPU kernels over feature-major activations (rows of features, tokens contiguous).

mod attention;
mod block;
mod circulant;
mod dense;
mod epilogue;
mod layout;
pub mod math;
mod norm;
mod pattern;
mod simd;
mod weight;

pub use attention::{AttentionShape, attention};
pub use epilogue::Epilogue;
pub use layout::{Window, embedding, flatten_nchw, im2col, masked_mean, pool, spmm};
pub use norm::{l2_normalize, layer_norm};
pub use weight::apply_weight;

/// A feature-major activation: `rows` of `cols` real columns, row stride `ld`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fm {
    pub rows: usize,
    pub cols: usize,
    pub ld: usize,
}
