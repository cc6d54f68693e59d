//! Pooling: spatial windows for CNNs, and the masked mean over tokens that makes a sentence
//! embedding.

use serde::{Deserialize, Serialize};

use crate::dtype::TensorType;
use crate::op::util::{expect_f32, expect_rank};
use crate::op::{InferResult, ShapeError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PoolKind {
    Max,
    Avg,
}

impl PoolKind {
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Max => "max_pool",
            PoolKind::Avg => "avg_pool",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "max_pool" => Some(PoolKind::Max),
            "avg_pool" => Some(PoolKind::Avg),
            _ => None,
        }
    }
}

pub fn infer_pool(x: &TensorType, size: usize, stride: usize) -> InferResult {
    expect_f32(x, "pool input")?;
    expect_rank(x, 4, "pool input")?;
    if size == 0 || stride == 0 {
        return Err(ShapeError::NotPositive("pool size and stride"));
    }
    let (h, w) = (x.shape[2], x.shape[3]);
    if h < size || w < size {
        return Err(ShapeError::Window {
            window: [size, size],
            input: x.clone(),
            padding: 0,
        });
    }
    Ok(TensorType::f32(vec![
        x.shape[0],
        x.shape[1],
        (h - size) / stride + 1,
        (w - size) / stride + 1,
    ]))
}

pub fn infer_masked_mean(x: &TensorType, mask: &TensorType) -> InferResult {
    expect_f32(x, "masked_mean input")?;
    expect_f32(mask, "masked_mean mask")?;
    expect_rank(x, 2, "masked_mean input")?;
    if mask.shape != [x.shape[0]] {
        return Err(ShapeError::Mask {
            mask: mask.clone(),
            per: "row",
            of: x.clone(),
        });
    }
    Ok(TensorType::f32(vec![x.shape[1]]))
}
