//! Convolution and flattening for LeNet-style CNNs. A conv weight [O, C, kh, kw] is viewed as
//! the matrix [O, C * kh * kw] for sparsity, so a 1x9 pattern block is a 3x3 kernel pattern.

use crate::cost::Cost;
use crate::dtype::TensorType;
use crate::op::shape_error::{Expected, Rank};
use crate::op::util::{expect_f32, expect_rank, param, param_with_shape, wrong_shape};
use crate::op::{InferResult, Params, ShapeError};

pub fn infer_conv(
    x: &TensorType,
    weight: &str,
    bias: Option<&str>,
    stride: usize,
    padding: usize,
    params: &Params,
) -> InferResult {
    expect_f32(x, "conv2d input")?;
    expect_rank(x, 4, "conv2d input")?;
    if stride == 0 {
        return Err(ShapeError::NotPositive("conv2d stride"));
    }
    let w = param(params, weight)?;
    let expected = || wrong_shape(w, weight, Expected::ConvWeight { input: x.clone() });
    let [o, c, kh, kw] = w.shape[..] else {
        return Err(expected());
    };
    if c != x.shape[1] {
        return Err(expected());
    }
    let (h, wd) = (x.shape[2] + 2 * padding, x.shape[3] + 2 * padding);
    if h < kh || wd < kw {
        return Err(ShapeError::Window {
            window: [kh, kw],
            input: x.clone(),
            padding,
        });
    }
    if let Some(b) = bias {
        param_with_shape(params, b, &[o])?;
    }
    Ok(TensorType::f32(vec![
        x.shape[0],
        o,
        (h - kh) / stride + 1,
        (wd - kw) / stride + 1,
    ]))
}

pub fn cost_conv(io: u64, out: &TensorType, weight: &str, has_bias: bool, params: &Params) -> Cost {
    let w = &params[weight];
    let positions = out.shape[0] * out.shape[2] * out.shape[3];
    let o = w.shape[0] as u64;
    let stored = w.stored() + if has_bias { o } else { 0 };
    let flops =
        w.sparsity.matmul_flops(positions, &w.matrix_shape()) + if has_bias { out.elements() as u64 } else { 0 };
    Cost {
        flops,
        macs: positions as u64 * w.sparsity.nnz(&w.matrix_shape()),
        bytes: io + 4 * stored,
        params: stored,
    }
}

pub fn infer_flatten(x: &TensorType) -> InferResult {
    expect_f32(x, "flatten input")?;
    if x.shape.len() < 2 {
        return Err(ShapeError::Rank {
            what: "flatten input",
            expected: Rank::AtLeast(2),
            got: x.clone(),
        });
    }
    Ok(TensorType::f32(vec![x.shape[0], x.shape[1..].iter().product()]))
}
