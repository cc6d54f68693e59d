//! Linear layers (weight x activation, the op sparsity applies to), bias adds and activation
//! x activation products (attention scores and context); the rules that fold a bias, an
//! activation and a residual add into a linear layer's epilogue.

use crate::cost::Cost;
use crate::dtype::TensorType;
use crate::graph::{Graph, NodeId};
use crate::op::shape_error::{Axis, Expected, Rank};
use crate::op::util::{expect_f32, last_axis, param, param_with_shape, wrong_shape};
use crate::op::{Activation, InferResult, Op, Params, ShapeError};
use crate::pass::{Patch, Rule};

/// `residual`, when the layer has one, is its second input: it must have the output's type.
pub fn infer_linear(
    x: &TensorType,
    residual: Option<&TensorType>,
    weight: &str,
    bias: Option<&str>,
    params: &Params,
) -> InferResult {
    let y = infer_product(x, weight, bias, params)?;
    match residual {
        Some(r) if r != &y => Err(ShapeError::Residual {
            residual: r.clone(),
            output: y,
        }),
        _ => Ok(y),
    }
}

fn infer_product(x: &TensorType, weight: &str, bias: Option<&str>, params: &Params) -> InferResult {
    expect_f32(x, "linear input")?;
    let k = last_axis(x, "linear input")?;
    let w = param(params, weight)?;
    if w.shape.len() != 2 || w.shape[1] != k {
        return Err(wrong_shape(w, weight, Expected::LinearWeight { input: x.clone() }));
    }
    let n = w.shape[0];
    if let Some(b) = bias {
        param_with_shape(params, b, &[n])?;
    }
    let mut shape = x.shape.clone();
    *shape.last_mut().expect("rank checked above") = n;
    Ok(TensorType::f32(shape))
}

/// `epilogue_flops`: per output element, after the product (bias, activation, residual).
pub fn cost_linear(
    io: u64,
    x: &TensorType,
    out: &TensorType,
    weight: &str,
    has_bias: bool,
    epilogue_flops: u64,
    params: &Params,
) -> Cost {
    let w = &params[weight];
    let tokens = x.elements() / x.shape.last().copied().unwrap_or(1).max(1);
    let n = w.shape[0] as u64;
    let epilogue = epilogue_flops * out.elements() as u64;
    let stored = w.stored() + if has_bias { n } else { 0 };
    Cost {
        flops: w.sparsity.matmul_flops(tokens, &w.shape) + epilogue,
        macs: tokens as u64 * w.sparsity.nnz(&w.shape),
        bytes: io + 4 * stored,
        params: stored,
    }
}

pub fn infer_bias_add(x: &TensorType, bias: &str, params: &Params) -> InferResult {
    expect_f32(x, "bias_add input")?;
    let n = last_axis(x, "bias_add input")?;
    param_with_shape(params, bias, &[n])?;
    Ok(x.clone())
}

/// Splits a rank-2 or rank-3 operand into (batch, rows, cols).
fn batched(t: &TensorType, what: &'static str) -> Result<(usize, usize, usize), ShapeError> {
    match t.shape[..] {
        [r, c] => Ok((1, r, c)),
        [b, r, c] => Ok((b, r, c)),
        _ => Err(ShapeError::Rank {
            what,
            expected: Rank::TwoOrThree,
            got: t.clone(),
        }),
    }
}

pub fn infer_matmul(a: &TensorType, b: &TensorType, transpose_b: bool) -> InferResult {
    expect_f32(a, "matmul lhs")?;
    expect_f32(b, "matmul rhs")?;
    if a.shape.len() != b.shape.len() {
        return Err(ShapeError::Differ {
            op: "matmul",
            axis: Axis::Rank,
            operands: vec![a.clone(), b.clone()],
        });
    }
    let (ba, _, k) = batched(a, "matmul lhs")?;
    let (bb, r, c) = batched(b, "matmul rhs")?;
    let (kb, n) = if transpose_b { (c, r) } else { (r, c) };
    if ba != bb || k != kb {
        return Err(ShapeError::Product {
            a: a.clone(),
            b: b.clone(),
            transposed: transpose_b,
        });
    }
    let mut shape = a.shape.clone();
    *shape.last_mut().expect("rank >= 2") = n;
    Ok(TensorType::f32(shape))
}

pub fn cost_matmul(io: u64, a: &TensorType, out: &TensorType) -> Cost {
    let k = *a.shape.last().expect("rank checked") as u64;
    Cost {
        flops: 2 * k * out.elements() as u64,
        macs: k * out.elements() as u64,
        bytes: io,
        params: 0,
    }
}

/// The fields of a linear node with nothing in its epilogue beyond `bias` and `act`.
fn plain_linear(g: &Graph, id: NodeId) -> Option<(String, Option<String>, Activation)> {
    match &g.node(id).op {
        Op::Linear {
            weight,
            bias,
            act,
            residual: false,
        } => Some((weight.clone(), bias.clone(), *act)),
        _ => None,
    }
}

/// Folds the sole reader of plain linear node `id` (no activation yet) into it: `fold` gives the
/// layer's new bias and activation from the reader's op and the layer's bias, or None.
fn fold_reader(
    g: &Graph,
    id: NodeId,
    fold: impl Fn(&Op, &Option<String>) -> Option<(Option<String>, Activation)>,
) -> Option<Patch> {
    let (weight, bias, Activation::Identity) = plain_linear(g, id)? else {
        return None;
    };
    let user = g.sole_user(id)?;
    let (bias, act) = fold(&g.node(user).op, &bias)?;
    Some(Patch {
        node: id,
        op: Op::Linear {
            weight,
            bias,
            act,
            residual: false,
        },
        inputs: g.inputs(id),
        replaces: user,
        absorbed: vec![user],
    })
}

/// `linear -> bias_add` becomes a linear with a bias, when the layer has none and nothing else
/// reads the product.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearBias;

impl Rule for LinearBias {
    fn name(&self) -> &'static str {
        "linear-bias"
    }

    fn propose(&self, g: &Graph, id: NodeId) -> Option<Patch> {
        fold_reader(g, id, |op, bias| match (op, bias) {
            (Op::BiasAdd { bias }, None) => Some((Some(bias.clone()), Activation::Identity)),
            _ => None,
        })
    }
}

/// `linear -> act` becomes a linear with that activation, when nothing else reads the product.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinearAct;

impl Rule for LinearAct {
    fn name(&self) -> &'static str {
        "linear-act"
    }

    fn propose(&self, g: &Graph, id: NodeId) -> Option<Patch> {
        fold_reader(g, id, |op, bias| match op {
            Op::Act(act) => Some((bias.clone(), *act)),
            _ => None,
        })
    }
}

/// `add(linear(x), r)` becomes a linear over (x, r) that adds r after its activation, when
/// only the add reads the linear layer's value: the kernel adds r while storing its output.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResidualLinear;

impl Rule for ResidualLinear {
    fn name(&self) -> &'static str {
        "residual-linear"
    }

    fn propose(&self, g: &Graph, add: NodeId) -> Option<Patch> {
        if !matches!(g.node(add).op, Op::Add) {
            return None;
        }
        let ins = g.inputs(add);
        let lin = ins
            .iter()
            .copied()
            .find(|&i| plain_linear(g, i).is_some() && g.sole_user(i) == Some(add))?;
        let other = if ins[0] == lin { ins[1] } else { ins[0] };
        if other == lin {
            return None;
        }
        let (weight, bias, act) = plain_linear(g, lin)?;
        let x = g.inputs(lin)[0];
        let op = Op::Linear {
            weight,
            bias,
            act,
            residual: true,
        };
        Some(Patch::at(add, op, vec![x, other], vec![lin]))
    }
}

#[cfg(test)]
mod tests {
    use crate::builders::tiny_bert;
    use crate::pass::{Pass, Pipeline, kernel_fusions, linear_epilogue};
    use crate::{Activation, Graph, Op};

    fn count(g: &Graph, f: impl Fn(&Op) -> bool) -> usize {
        g.topo_order().into_iter().filter(|&id| f(&g.node(id).op)).count()
    }

    /// In BERT the six linear layers of each layer take their bias and the FFN its GELU; then
    /// the attention output and the FFN output take their residual add. The embedding sums
    /// are adds of no linear layer and stay.
    #[test]
    fn epilogue_and_residual_rules_fire_in_bert() {
        let mut g = tiny_bert(2);
        let biases = count(&g, |op| matches!(op, Op::BiasAdd { .. }));
        let folded = linear_epilogue().run(&mut g).unwrap();
        assert_eq!(folded, vec![("linear-bias", biases), ("linear-act", 2)]);
        assert_eq!(count(&g, |op| matches!(op, Op::BiasAdd { .. } | Op::Act(_))), 0);
        assert_eq!(
            count(&g, |op| matches!(
                op,
                Op::Linear {
                    act: Activation::Gelu,
                    ..
                }
            )),
            2
        );
        let adds = count(&g, |op| matches!(op, Op::Add));
        let fused = kernel_fusions().run(&mut g).unwrap();
        assert_eq!(fused[0], ("residual-linear", 4));
        g.validate().unwrap();
        assert_eq!(count(&g, |op| matches!(op, Op::Linear { residual: true, .. })), 4);
        assert_eq!(count(&g, |op| matches!(op, Op::Add)), adds - 4);
        assert!(g.to_string().contains("residual=true"));
    }

    /// A linear layer whose value is also a graph output, or read twice, keeps its add.
    #[test]
    fn residual_rule_leaves_shared_values() {
        let mut g = tiny_bert(2);
        Pipeline::standard().run(&mut g).unwrap();
        let lin = g
            .topo_order()
            .into_iter()
            .find(|&id| {
                matches!(
                    g.node(id).op,
                    Op::Linear {
                        act: Activation::Gelu,
                        ..
                    }
                )
            })
            .unwrap();
        let ffn_out = g.sole_user(lin).unwrap();
        let mut outs = g.outputs().to_vec();
        outs.push(ffn_out);
        g.set_outputs(outs).unwrap();
        let fused = kernel_fusions().run(&mut g).unwrap();
        assert_eq!(fused[0], ("residual-linear", 3));
    }
}
