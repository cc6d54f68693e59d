//! Packing: a dense weight plus its sparsity annotation becomes the format its kernel wants.
//! Packing reads the stored dense weight and keeps exactly what the sparsity's projection keeps,
//! so a packed weight computes what the reference interpreter computes.

pub(crate) mod block;
mod circulant;
mod pattern;
mod unstructured;

use canao_ir::Sparsity;
use canao_tensor::Tensor;

use crate::error::{CpuError, Result};

pub use block::{BlockPacked, STRIP_HEIGHTS, Strip};
pub use circulant::CirculantPacked;
pub use pattern::{PIECE_ROWS, PatternPacked};
pub use unstructured::{ROW_BLOCK, Segment, UnstructuredPacked, chunk_for};

/// A weight matrix [n, k] ready for `Y[n, :] = W X[k, :]`.
#[derive(Debug, Clone)]
pub enum PackedWeight {
    /// Row-major [n, k], multiplied by a GEMM.
    Dense {
        n: usize,
        k: usize,
        w: Vec<f32>,
    },
    Block(BlockPacked),
    /// Blocks one row high (1 x 1 is unstructured sparsity).
    Unstructured(UnstructuredPacked),
    Pattern(PatternPacked),
    Circulant(CirculantPacked),
}

impl PackedWeight {
    pub fn rows(&self) -> usize {
        match self {
            PackedWeight::Dense { n, .. } => *n,
            PackedWeight::Block(b) => b.n,
            PackedWeight::Unstructured(u) => u.n(),
            PackedWeight::Pattern(p) => p.n,
            PackedWeight::Circulant(c) => c.n,
        }
    }

    pub fn cols(&self) -> usize {
        match self {
            PackedWeight::Dense { k, .. } => *k,
            PackedWeight::Block(b) => b.k,
            PackedWeight::Unstructured(u) => u.k(),
            PackedWeight::Pattern(p) => p.k,
            PackedWeight::Circulant(c) => c.k,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            PackedWeight::Dense { .. } => "dense",
            PackedWeight::Block(_) | PackedWeight::Unstructured(_) => "block",
            PackedWeight::Pattern(_) => "pattern",
            PackedWeight::Circulant(_) => "circulant",
        }
    }

    /// Scratch floats a product with activations of row stride `ld` needs.
    pub fn scratch_len(&self, ld: usize) -> usize {
        match self {
            PackedWeight::Circulant(c) => c.scratch_len(ld),
            _ => 0,
        }
    }

    /// Bytes the packed form occupies (values and indices).
    pub fn packed_bytes(&self) -> usize {
        match self {
            PackedWeight::Dense { w, .. } => 4 * w.len(),
            PackedWeight::Block(b) => b.packed_bytes(),
            PackedWeight::Unstructured(u) => u.packed_bytes(),
            PackedWeight::Pattern(p) => p.packed_bytes(),
            PackedWeight::Circulant(c) => c.packed_bytes(),
        }
    }
}

/// Packs a weight (any rank; its [first dim, rest] matrix view is used) for its sparsity.
pub fn pack_weight(param: &str, w: &Tensor, sparsity: &Sparsity) -> Result<PackedWeight> {
    let shape = w.shape();
    if shape.len() < 2 {
        return Err(CpuError::Pack {
            param: param.into(),
            detail: format!("needs a matrix, got shape {shape:?}"),
        });
    }
    let (n, k) = (shape[0], shape[1..].iter().product::<usize>());
    sparsity.validate(param, &[n, k])?;
    let data = w.data();
    Ok(match sparsity {
        Sparsity::Dense => PackedWeight::Dense { n, k, w: data.to_vec() },
        // One-row blocks share no loaded token run between rows, so they get their own kernel.
        Sparsity::Block { block, mask } if block[0] == 1 => {
            PackedWeight::Unstructured(UnstructuredPacked::new(n, k, *block, &mask.0, data))
        }
        Sparsity::Block { block, mask } => PackedWeight::Block(BlockPacked::new(n, k, *block, &mask.0, data)),
        Sparsity::Pattern {
            block,
            patterns,
            assign,
        } => PackedWeight::Pattern(PatternPacked::new(n, k, *block, patterns, assign, data)),
        Sparsity::Circulant { block } => PackedWeight::Circulant(CirculantPacked::new(n, k, *block, data)),
        Sparsity::Csr { .. } => {
            return Err(CpuError::Pack {
                param: param.into(),
                detail: "csr parameters are graph adjacency, not weights".into(),
            });
        }
    })
}
