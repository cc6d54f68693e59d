//! Embedding lookup: rows of a table picked by ids.

use crate::cost::Cost;
use crate::dtype::{DType, TensorType};
use crate::op::util::{expect_rank, param};
use crate::op::{InferResult, Params};

pub fn infer(ids: &TensorType, table: &str, params: &Params) -> InferResult {
    if ids.dtype != DType::I32 {
        return Err(format!("embedding ids must be i32, got {ids}"));
    }
    expect_rank(ids, 1, "embedding ids")?;
    let t = param(params, table)?;
    if t.shape.len() != 2 {
        return Err(format!("embedding table @{table} must be 2-D, got {:?}", t.shape));
    }
    Ok(TensorType::f32(vec![ids.shape[0], t.shape[1]]))
}

/// A lookup moves only the rows it picks (counted in the output) but owns the whole table.
pub fn cost(io: u64, table: &str, params: &Params) -> Cost {
    Cost {
        flops: 0,
        bytes: io,
        params: params[table].stored(),
    }
}
