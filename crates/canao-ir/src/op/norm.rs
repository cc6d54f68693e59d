//! Normalisations over the last axis: layer norm and (masked) softmax.

use crate::cost::Cost;
use crate::dtype::TensorType;
use crate::op::util::{expect_f32, expect_rank, last_axis, param_with_shape};
use crate::op::{InferResult, Params, ShapeError};

pub fn infer_layer_norm(x: &TensorType, gamma: &str, beta: &str, params: &Params) -> InferResult {
    expect_f32(x, "layer_norm input")?;
    let d = last_axis(x, "layer_norm input")?;
    param_with_shape(params, gamma, &[d])?;
    param_with_shape(params, beta, &[d])?;
    Ok(x.clone())
}

/// Mean, variance, normalise, scale and shift: about 8 FLOPs an element; reads gamma and beta.
pub fn cost_layer_norm(io: u64, out: &TensorType) -> Cost {
    let d = *out.shape.last().expect("rank checked") as u64;
    Cost {
        flops: 8 * out.elements() as u64,
        macs: 0,
        bytes: io + 8 * d,
        params: 2 * d,
    }
}

pub fn infer_masked_softmax(scores: &TensorType, mask: &TensorType) -> InferResult {
    expect_f32(scores, "masked_softmax scores")?;
    expect_f32(mask, "masked_softmax mask")?;
    expect_rank(scores, 3, "masked_softmax scores")?;
    expect_rank(mask, 1, "masked_softmax mask")?;
    if mask.shape[0] != scores.shape[2] {
        return Err(ShapeError::Mask {
            mask: mask.clone(),
            per: "key",
            of: scores.clone(),
        });
    }
    Ok(scores.clone())
}

/// Max, subtract, exponentiate, sum, divide: about 5 FLOPs an element.
pub fn cost_softmax(io: u64, out: &TensorType) -> Cost {
    Cost {
        flops: 5 * out.elements() as u64,
        macs: 0,
        bytes: io,
        params: 0,
    }
}
