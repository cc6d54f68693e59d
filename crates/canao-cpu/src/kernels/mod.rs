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

use crate::isa::Isa;

pub use attention::{AttentionShape, attention};
pub use epilogue::Epilogue;
pub use layout::{Window, embedding, flatten_nchw, im2col, masked_mean, pool, spmm};
pub use norm::{l2_normalize, layer_norm};
pub(crate) use unstructured::tile_passes;
pub use weight::apply_weight;

/// How a kernel runs: on how many worker threads, with which instruction set. Made only for a
/// set this CPU can run, so kernels never meet one it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cx {
    threads: usize,
    isa: Isa,
}

impl Cx {
    /// `threads` (at least 1) on `isa`; an error if this CPU cannot run `isa`.
    pub fn new(threads: usize, isa: Isa) -> crate::Result<Cx> {
        Ok(Cx {
            threads: threads.max(1),
            isa: isa.checked()?,
        })
    }

    /// One thread on the widest instruction set here.
    pub fn single() -> Cx {
        Cx {
            threads: 1,
            isa: Isa::detect(),
        }
    }

    pub fn threads(self) -> usize {
        self.threads
    }

    pub fn isa(self) -> Isa {
        self.isa
    }
}

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
