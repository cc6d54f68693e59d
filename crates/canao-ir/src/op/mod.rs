//! The closed op set. Each family file owns its ops' shape inference, cost and text attributes;
//! this file only dispatches.

mod attention;
mod conv;
mod elementwise;
mod embedding;
mod linear;
mod norm;
mod pool;
mod shape_error;
mod source;
mod sparse;
mod util;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cost::Cost;
use crate::dtype::TensorType;
use crate::graph::ParamSpec;

pub use attention::{AttentionHeads, FuseAttention};
pub use elementwise::Activation;
pub use linear::{LinearAct, LinearBias, ResidualLinear};
pub use pool::PoolKind;
pub use shape_error::{Axis, Expected, InferResult, Rank, ShapeError};

/// Parameters a graph declares, by name.
pub type Params = BTreeMap<String, ParamSpec>;
/// Text attributes of an op, as printed (`key=value`).
pub type Attrs = BTreeMap<String, String>;

/// One operation. Parameters are referred to by name; weights live outside the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// A graph input; its type is part of the op.
    Input { name: String, ty: TensorType },
    /// Positions 0..len as ids (for position embeddings).
    Arange { len: usize },
    /// Rows of `table` [vocab, dim] picked by an id vector [n].
    Embedding { table: String },
    /// x [..., in] times `weight` [out, in] transposed, plus optional bias [out], then `act`;
    /// with `residual`, a second input of the output's shape is added last (a fused residual
    /// connection, made by the `residual-linear` rule).
    Linear {
        weight: String,
        bias: Option<String>,
        act: Activation,
        #[serde(default)]
        residual: bool,
    },
    /// x [..., n] + bias [n].
    BiasAdd { bias: String },
    /// Batched product of two activations, [B, M, K] x [B, K, N] (or [B, N, K] when
    /// `transpose_b`), scaled by `alpha`. Rank 2 is a batch of one.
    MatMul { transpose_b: bool, alpha: f32 },
    /// Element-wise sum of two equal-shaped values (residual connections).
    Add,
    /// An element-wise activation.
    Act(Activation),
    /// Normalise the last axis, then scale by `gamma` and shift by `beta`.
    LayerNorm { gamma: String, beta: String, eps: f32 },
    /// Softmax over the last axis.
    Softmax,
    /// Softmax of attention scores [heads, q, k] over keys, with keys whose mask [k] is 0 dropped.
    MaskedSoftmax,
    /// [seq, heads * d] -> [heads, seq, d].
    SplitHeads { heads: usize },
    /// [heads, seq, d] -> [seq, heads * d].
    MergeHeads,
    /// Fused attention `out_alpha * softmax(alpha q k^T) v` over the keys the mask [keys] keeps
    /// (all, unless `masked`); inputs q, k, v (, mask). With `heads`, q, k, v are [seq, heads * d]
    /// and the output [seq, heads * dv] (the head split and merge inside); without, they are
    /// [batch?, seq, d]. Made by the `fuse-attention` and `attention-heads` rules.
    Attention {
        heads: Option<usize>,
        alpha: f32,
        out_alpha: f32,
        masked: bool,
    },
    /// Mean of x [seq, dim] over the rows whose mask [seq] is 1 (sentence embedding).
    MaskedMean,
    /// Scale the last axis to unit L2 norm.
    L2Normalize,
    /// 2-D convolution of x [N, C, H, W] with `weight` [O, C, kh, kw], optional bias [O].
    Conv2d {
        weight: String,
        bias: Option<String>,
        stride: usize,
        padding: usize,
    },
    /// Max or average pooling over size x size windows, no padding.
    Pool { kind: PoolKind, size: usize, stride: usize },
    /// [N, ...] -> [N, product of the rest].
    Flatten,
    /// Sparse `adj` [n, n] (CSR) times dense x [n, f] (graph convolution propagation).
    SpMM { adj: String },
}

impl Op {
    /// The name used in the text form and in cost reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Arange { .. } => "arange",
            Op::Embedding { .. } => "embedding",
            Op::Linear { .. } => "linear",
            Op::BiasAdd { .. } => "bias_add",
            Op::MatMul { .. } => "matmul",
            Op::Add => "add",
            Op::Act(a) => a.name(),
            Op::LayerNorm { .. } => "layer_norm",
            Op::Softmax => "softmax",
            Op::MaskedSoftmax => "masked_softmax",
            Op::SplitHeads { .. } => "split_heads",
            Op::MergeHeads => "merge_heads",
            Op::Attention { .. } => "attention",
            Op::MaskedMean => "masked_mean",
            Op::L2Normalize => "l2_normalize",
            Op::Conv2d { .. } => "conv2d",
            Op::Pool { kind, .. } => kind.name(),
            Op::Flatten => "flatten",
            Op::SpMM { .. } => "spmm",
        }
    }

    /// How many value inputs the op takes.
    pub fn arity(&self) -> usize {
        match self {
            Op::Input { .. } | Op::Arange { .. } => 0,
            Op::MatMul { .. } | Op::Add | Op::MaskedSoftmax | Op::MaskedMean => 2,
            Op::Linear { residual, .. } => 1 + usize::from(*residual),
            Op::Attention { masked, .. } => 3 + usize::from(*masked),
            _ => 1,
        }
    }

    /// The parameters the op reads, in text-form order.
    pub fn params(&self) -> Vec<&str> {
        match self {
            Op::Embedding { table } => vec![table],
            Op::Linear { weight, bias, .. } | Op::Conv2d { weight, bias, .. } => {
                std::iter::once(weight.as_str()).chain(bias.as_deref()).collect()
            }
            Op::BiasAdd { bias } => vec![bias],
            Op::LayerNorm { gamma, beta, .. } => vec![gamma, beta],
            Op::SpMM { adj } => vec![adj],
            _ => vec![],
        }
    }

    /// Output type from input types; the caller has checked the arity.
    pub fn infer(&self, ins: &[&TensorType], params: &Params) -> InferResult {
        match self {
            Op::Input { ty, .. } => source::infer_input(ty),
            Op::Arange { len } => source::infer_arange(*len),
            Op::Embedding { table } => embedding::infer(ins[0], table, params),
            Op::Linear { weight, bias, .. } => {
                linear::infer_linear(ins[0], ins.get(1).copied(), weight, bias.as_deref(), params)
            }
            Op::BiasAdd { bias } => linear::infer_bias_add(ins[0], bias, params),
            Op::MatMul { transpose_b, .. } => linear::infer_matmul(ins[0], ins[1], *transpose_b),
            Op::Add => elementwise::infer_add(ins[0], ins[1]),
            Op::Act(_) | Op::Softmax | Op::L2Normalize => elementwise::infer_unary(ins[0]),
            Op::LayerNorm { gamma, beta, .. } => norm::infer_layer_norm(ins[0], gamma, beta, params),
            Op::MaskedSoftmax => norm::infer_masked_softmax(ins[0], ins[1]),
            Op::SplitHeads { heads } => attention::infer_split(ins[0], *heads),
            Op::MergeHeads => attention::infer_merge(ins[0]),
            Op::Attention { heads, masked, .. } => attention::infer_attention(ins, *heads, *masked),
            Op::MaskedMean => pool::infer_masked_mean(ins[0], ins[1]),
            Op::Conv2d {
                weight,
                bias,
                stride,
                padding,
            } => conv::infer_conv(ins[0], weight, bias.as_deref(), *stride, *padding, params),
            Op::Pool { size, stride, .. } => pool::infer_pool(ins[0], *size, *stride),
            Op::Flatten => conv::infer_flatten(ins[0]),
            Op::SpMM { adj } => sparse::infer_spmm(ins[0], adj, params),
        }
    }

    /// Cost of the op given its (already inferred) input and output types.
    pub fn cost(&self, ins: &[&TensorType], out: &TensorType, params: &Params) -> Cost {
        let io = util::io_bytes(ins, out);
        match self {
            Op::Input { .. } | Op::Arange { .. } => Cost::default(),
            Op::Embedding { table } => embedding::cost(io, table, params),
            Op::SplitHeads { .. } | Op::MergeHeads | Op::Flatten => Cost {
                flops: 0,
                macs: 0,
                bytes: io,
                params: 0,
            },
            Op::Linear {
                weight,
                bias,
                act,
                residual,
            } => {
                let epilogue = u64::from(bias.is_some()) + act.flops_per_element() + u64::from(*residual);
                linear::cost_linear(io, ins[0], out, weight, bias.is_some(), epilogue, params)
            }
            Op::BiasAdd { bias } => {
                let n = params[bias].stored();
                Cost {
                    flops: out.elements() as u64,
                    macs: 0,
                    bytes: io + 4 * n,
                    params: n,
                }
            }
            Op::Add => Cost {
                flops: out.elements() as u64,
                macs: 0,
                bytes: io,
                params: 0,
            },
            Op::MatMul { .. } => linear::cost_matmul(io, ins[0], out),
            Op::Attention { heads, .. } => attention::cost_attention(io, ins, *heads),
            Op::Act(a) => Cost {
                flops: a.flops_per_element() * out.elements() as u64,
                macs: 0,
                bytes: io,
                params: 0,
            },
            Op::LayerNorm { .. } => norm::cost_layer_norm(io, out),
            Op::Softmax | Op::MaskedSoftmax => norm::cost_softmax(io, out),
            Op::MaskedMean => Cost {
                flops: 2 * ins[0].elements() as u64,
                macs: 0,
                bytes: io,
                params: 0,
            },
            Op::L2Normalize => Cost {
                flops: 3 * out.elements() as u64,
                macs: 0,
                bytes: io,
                params: 0,
            },
            Op::Conv2d { weight, bias, .. } => conv::cost_conv(io, out, weight, bias.is_some(), params),
            Op::Pool { size, .. } => Cost {
                flops: (size * size * out.elements()) as u64,
                macs: 0,
                bytes: io,
                params: 0,
            },
            Op::SpMM { adj } => sparse::cost_spmm(ins[0], out, adj, params),
        }
    }

    /// Attributes for the text form, `key=value`, in a fixed order.
    pub fn attrs(&self) -> Vec<(&'static str, String)> {
        match self {
            Op::Input { name, .. } => vec![("name", format!("{name:?}"))],
            Op::Arange { len } => vec![("len", len.to_string())],
            Op::Linear { act, residual, .. } => {
                let act = (*act != Activation::Identity).then(|| ("act", act.name().to_string()));
                act.into_iter()
                    .chain(residual.then(|| ("residual", "true".to_string())))
                    .collect()
            }
            Op::Attention {
                heads,
                alpha,
                out_alpha,
                masked,
            } => {
                let heads = heads.map(|h| ("heads", h.to_string()));
                heads
                    .into_iter()
                    .chain([
                        ("alpha", format!("{alpha:?}")),
                        ("out_alpha", format!("{out_alpha:?}")),
                        ("masked", masked.to_string()),
                    ])
                    .collect()
            }
            Op::MatMul { transpose_b, alpha } => {
                vec![
                    ("transpose_b", transpose_b.to_string()),
                    ("alpha", format!("{alpha:?}")),
                ]
            }
            Op::LayerNorm { eps, .. } => vec![("eps", format!("{eps:?}"))],
            Op::SplitHeads { heads } => vec![("heads", heads.to_string())],
            Op::Conv2d { stride, padding, .. } => {
                vec![("stride", stride.to_string()), ("padding", padding.to_string())]
            }
            Op::Pool { size, stride, .. } => {
                vec![("size", size.to_string()), ("stride", stride.to_string())]
            }
            _ => vec![],
        }
    }

    /// Rebuilds an op from its text form: kind, parameter names in order, attributes, and the
    /// annotated output type (which only `input` takes as its own).
    pub fn from_text(
        kind: &str,
        params: Vec<String>,
        attrs: &Attrs,
        ty: &TensorType,
    ) -> std::result::Result<Op, String> {
        let mut ps = util::ParamList::new(kind, params);
        let op = match kind {
            "input" => Op::Input {
                name: util::attr_string(attrs, "name")?,
                ty: ty.clone(),
            },
            "arange" => Op::Arange {
                len: util::attr(attrs, "len")?,
            },
            "embedding" => Op::Embedding { table: ps.take()? },
            "linear" => Op::Linear {
                weight: ps.take()?,
                bias: ps.take_optional(),
                act: match attrs.get("act") {
                    Some(a) => Activation::from_name(a).ok_or_else(|| format!("unknown activation `{a}`"))?,
                    None => Activation::Identity,
                },
                residual: attrs.contains_key("residual") && util::attr(attrs, "residual")?,
            },
            "bias_add" => Op::BiasAdd { bias: ps.take()? },
            "matmul" => Op::MatMul {
                transpose_b: util::attr(attrs, "transpose_b")?,
                alpha: util::attr(attrs, "alpha")?,
            },
            "add" => Op::Add,
            "layer_norm" => Op::LayerNorm {
                gamma: ps.take()?,
                beta: ps.take()?,
                eps: util::attr(attrs, "eps")?,
            },
            "softmax" => Op::Softmax,
            "masked_softmax" => Op::MaskedSoftmax,
            "split_heads" => Op::SplitHeads {
                heads: util::attr(attrs, "heads")?,
            },
            "merge_heads" => Op::MergeHeads,
            "attention" => Op::Attention {
                heads: attrs
                    .contains_key("heads")
                    .then(|| util::attr(attrs, "heads"))
                    .transpose()?,
                alpha: util::attr(attrs, "alpha")?,
                out_alpha: util::attr(attrs, "out_alpha")?,
                masked: util::attr(attrs, "masked")?,
            },
            "masked_mean" => Op::MaskedMean,
            "l2_normalize" => Op::L2Normalize,
            "conv2d" => Op::Conv2d {
                weight: ps.take()?,
                bias: ps.take_optional(),
                stride: util::attr(attrs, "stride")?,
                padding: util::attr(attrs, "padding")?,
            },
            "flatten" => Op::Flatten,
            "spmm" => Op::SpMM { adj: ps.take()? },
            other => {
                if let Some(a) = Activation::from_name(other) {
                    Op::Act(a)
                } else if let Some(kind) = PoolKind::from_name(other) {
                    Op::Pool {
                        kind,
                        size: util::attr(attrs, "size")?,
                        stride: util::attr(attrs, "stride")?,
                    }
                } else {
                    return Err(format!("unknown op `{other}`"));
                }
            }
        };
        ps.finish()?;
        let known: Vec<&str> = op.attrs().iter().map(|(k, _)| *k).collect();
        if let Some(k) = attrs.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("`{kind}` has no attribute `{k}`"));
        }
        Ok(op)
    }
}
