//! Moving between the [seq, heads * d] layout of linear layers and the per-head layout
//! [heads, seq, d] that attention's batched products use.

use crate::dtype::TensorType;
use crate::op::InferResult;
use crate::op::util::{expect_f32, expect_rank};

pub fn infer_split(x: &TensorType, heads: usize) -> InferResult {
    expect_f32(x, "split_heads input")?;
    expect_rank(x, 2, "split_heads input")?;
    if heads == 0 || !x.shape[1].is_multiple_of(heads) {
        return Err(format!("width {} does not split into {heads} heads", x.shape[1]));
    }
    Ok(TensorType::f32(vec![heads, x.shape[0], x.shape[1] / heads]))
}

pub fn infer_merge(x: &TensorType) -> InferResult {
    expect_f32(x, "merge_heads input")?;
    expect_rank(x, 3, "merge_heads input")?;
    Ok(TensorType::f32(vec![x.shape[1], x.shape[0] * x.shape[2]]))
}
