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
mod unstructured;
mod weight;

pub use attention::{AttentionShape, attention};
pub use epilogue::Epilogue;
pub use layout::{Window, embedding, flatten_nchw, im2col, masked_mean, pool, spmm};
pub use norm::{l2_normalize, layer_norm};
pub(crate) use unstructured::tile_passes;
pub use weight::apply_weight;

/// Calls `f((i, chunk))` for each `size`-float chunk of `y` in order, on the rayon pool when
/// `threads > 1` (chunks are disjoint output rows, so they run independently).
pub(crate) fn for_each_rows(y: &mut [f32], size: usize, threads: usize, f: impl Fn((usize, &mut [f32])) + Send + Sync) {
    use rayon::prelude::*;
    if threads <= 1 {
        y.chunks_mut(size).enumerate().for_each(f);
    } else {
        y.par_chunks_mut(size).enumerate().for_each(f);
    }
}

/// A feature-major activation: `rows` of `cols` real columns, row stride `ld`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fm {
    pub rows: usize,
    pub cols: usize,
    pub ld: usize,
}
