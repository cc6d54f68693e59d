//! Embedding lookup: rows of a table picked by ids.

use crate::cost::Cost;
use crate::dtype::{DType, TensorType};
use crate::op::shape_error::Expected;
use crate::op::util::{expect_dtype, expect_rank, param, wrong_shape};
use crate::op::{InferResult, Params};

pub fn infer(ids: &TensorType, table: &str, params: &Params) -> InferResult {
    expect_dtype(ids, DType::I32, "embedding ids")?;
    expect_rank(ids, 1, "embedding ids")?;
    let t = param(params, table)?;
    if t.shape.len() != 2 {
        return Err(wrong_shape(t, table, Expected::Table));
    }
    Ok(TensorType::f32(vec![ids.shape[0], t.shape[1]]))
}

/// A lookup moves only the rows it picks (counted in the output) but owns the whole table.
pub fn cost(io: u64, table: &str, params: &Params) -> Cost {
    Cost {
        flops: 0,
        macs: 0,
        bytes: io,
        params: params[table].stored(),
    }
}
