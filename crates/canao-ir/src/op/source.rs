//! Ops that produce values from nothing: graph inputs and position ids.

use crate::dtype::TensorType;
use crate::op::{InferResult, ShapeError};

pub fn infer_input(ty: &TensorType) -> InferResult {
    if ty.shape.contains(&0) {
        return Err(ShapeError::EmptyDimension(ty.clone()));
    }
    Ok(ty.clone())
}

pub fn infer_arange(len: usize) -> InferResult {
    if len == 0 {
        return Err(ShapeError::NotPositive("arange length"));
    }
    Ok(TensorType::i32(vec![len]))
}
