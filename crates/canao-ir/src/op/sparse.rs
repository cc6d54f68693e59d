//! Sparse x dense products for graph convolutions.

use crate::cost::Cost;
use crate::dtype::TensorType;
use crate::op::shape_error::Expected;
use crate::op::util::{expect_f32, expect_rank, param, wrong_shape};
use crate::op::{InferResult, Params, ShapeError};
use crate::sparsity::Sparsity;

pub fn infer_spmm(x: &TensorType, adj: &str, params: &Params) -> InferResult {
    expect_f32(x, "spmm input")?;
    expect_rank(x, 2, "spmm input")?;
    let a = param(params, adj)?;
    if !matches!(a.sparsity, Sparsity::Csr { .. }) {
        return Err(ShapeError::NotCsr {
            name: adj.to_string(),
            sparsity: a.sparsity.kind(),
        });
    }
    if a.shape.len() != 2 || a.shape[1] != x.shape[0] {
        return Err(wrong_shape(a, adj, Expected::Adjacency { input: x.clone() }));
    }
    Ok(TensorType::f32(vec![a.shape[0], x.shape[1]]))
}

/// Each stored entry multiplies a row of `f` features; CSR also reads one index per entry.
pub fn cost_spmm(x: &TensorType, out: &TensorType, adj: &str, params: &Params) -> Cost {
    let nnz = params[adj].stored();
    let f = x.shape[1] as u64;
    let bytes = 4 * (nnz * f + out.elements() as u64) + 8 * nnz;
    Cost {
        flops: 2 * nnz * f,
        macs: nnz * f,
        bytes,
        params: nnz,
    }
}
