//! Element-wise ops: residual adds and activations.

use serde::{Deserialize, Serialize};

use crate::dtype::TensorType;
use crate::op::shape_error::Axis;
use crate::op::util::expect_f32;
use crate::op::{InferResult, ShapeError};

/// An activation, standalone or fused into a linear layer's epilogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    Identity,
    /// The exact, erf-based GELU that BERT uses.
    Gelu,
    Relu,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Gelu => "gelu",
            Activation::Relu => "relu",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "identity" => Some(Activation::Identity),
            "gelu" => Some(Activation::Gelu),
            "relu" => Some(Activation::Relu),
            _ => None,
        }
    }

    /// FLOPs charged per element: GELU's erf is a short polynomial (about 8), ReLU one compare.
    pub fn flops_per_element(self) -> u64 {
        match self {
            Activation::Identity => 0,
            Activation::Gelu => 8,
            Activation::Relu => 1,
        }
    }
}

pub fn infer_unary(x: &TensorType) -> InferResult {
    expect_f32(x, "input")?;
    Ok(x.clone())
}

pub fn infer_add(a: &TensorType, b: &TensorType) -> InferResult {
    expect_f32(a, "add lhs")?;
    expect_f32(b, "add rhs")?;
    if a.shape != b.shape {
        return Err(ShapeError::Differ {
            op: "add",
            axis: Axis::Shape,
            operands: vec![a.clone(), b.clone()],
        });
    }
    Ok(a.clone())
}
