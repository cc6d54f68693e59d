//! Linear layers (weight x activation, the op sparsity applies to), bias adds and activation
//! x activation products (attention scores and context).

use crate::cost::Cost;
use crate::dtype::TensorType;
use crate::op::util::{expect_f32, param, param_with_shape};
use crate::op::{Activation, InferResult, Params};

pub fn infer_linear(x: &TensorType, weight: &str, bias: Option<&str>, params: &Params) -> InferResult {
    expect_f32(x, "linear input")?;
    let k = *x.shape.last().ok_or("linear input must have rank >= 1")?;
    let w = param(params, weight)?;
    if w.shape.len() != 2 || w.shape[1] != k {
        return Err(format!(
            "weight @{weight} has shape {:?}, expected [out, {k}] for input {x}",
            w.shape
        ));
    }
    let n = w.shape[0];
    if let Some(b) = bias {
        param_with_shape(params, b, &[n])?;
    }
    let mut shape = x.shape.clone();
    *shape.last_mut().expect("rank checked above") = n;
    Ok(TensorType::f32(shape))
}

pub fn cost_linear(
    io: u64,
    x: &TensorType,
    out: &TensorType,
    weight: &str,
    has_bias: bool,
    act: Activation,
    params: &Params,
) -> Cost {
    let w = &params[weight];
    let tokens = x.elements() / x.shape.last().copied().unwrap_or(1).max(1);
    let n = w.shape[0] as u64;
    let epilogue = (u64::from(has_bias) + act.flops_per_element()) * out.elements() as u64;
    let stored = w.stored() + if has_bias { n } else { 0 };
    Cost {
        flops: w.sparsity.matmul_flops(tokens, &w.shape) + epilogue,
        bytes: io + 4 * stored,
        params: stored,
    }
}

pub fn infer_bias_add(x: &TensorType, bias: &str, params: &Params) -> InferResult {
    expect_f32(x, "bias_add input")?;
    let n = *x.shape.last().ok_or("bias_add input must have rank >= 1")?;
    param_with_shape(params, bias, &[n])?;
    Ok(x.clone())
}

/// Splits a rank-2 or rank-3 operand into (batch, rows, cols).
fn batched(t: &TensorType, what: &str) -> Result<(usize, usize, usize), String> {
    match t.shape[..] {
        [r, c] => Ok((1, r, c)),
        [b, r, c] => Ok((b, r, c)),
        _ => Err(format!("{what} must have rank 2 or 3, got {t}")),
    }
}

pub fn infer_matmul(a: &TensorType, b: &TensorType, transpose_b: bool) -> InferResult {
    expect_f32(a, "matmul lhs")?;
    expect_f32(b, "matmul rhs")?;
    if a.shape.len() != b.shape.len() {
        return Err(format!("matmul operands differ in rank: {a} and {b}"));
    }
    let (ba, _, k) = batched(a, "matmul lhs")?;
    let (bb, r, c) = batched(b, "matmul rhs")?;
    let (kb, n) = if transpose_b { (c, r) } else { (r, c) };
    if ba != bb || k != kb {
        return Err(format!(
            "matmul operands do not fit: {a} x {b}{}",
            if transpose_b { "^T" } else { "" }
        ));
    }
    let mut shape = a.shape.clone();
    *shape.last_mut().expect("rank >= 2") = n;
    Ok(TensorType::f32(shape))
}

pub fn cost_matmul(io: u64, a: &TensorType, out: &TensorType) -> Cost {
    let k = *a.shape.last().expect("rank checked") as u64;
    Cost {
        flops: 2 * k * out.elements() as u64,
        bytes: io,
        params: 0,
    }
}
