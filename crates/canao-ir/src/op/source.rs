//! Ops that produce values from nothing: graph inputs and position ids.

use crate::dtype::TensorType;
use crate::op::InferResult;

pub fn infer_input(ty: &TensorType) -> InferResult {
    if ty.shape.contains(&0) {
        return Err(format!("input type {ty} has an empty dimension"));
    }
    Ok(ty.clone())
}

pub fn infer_arange(len: usize) -> InferResult {
    if len == 0 {
        return Err("arange needs a positive length".into());
    }
    Ok(TensorType::i32(vec![len]))
}
