//! Lowering: an IR graph, after the kernel pipeline (epilogue, residual and attention fusion as
//! IR rewrites, see `canao_ir::pass`), becomes a plan of kernel steps, one per op.

use std::collections::BTreeMap;

use canao_ir::pass::Pipeline;
use canao_ir::{Graph, NodeId, Op, ParamValue, Weights};

use crate::error::{CpuError, Result};
use crate::kernels::{AttentionShape, Fm, Window};
use crate::pack::pack_weight;
use crate::padded;
use crate::plan::{Layout, Plan, Step, Val};

fn unsupported(g: &Graph, id: NodeId, detail: &str) -> CpuError {
    CpuError::Unsupported {
        node: g.label(id),
        detail: detail.into(),
    }
}

/// The CPU kernel's shape for fused attention node `id`. The kernel reads q, k and v in the
/// linear layers' layout with one head width, always reads a key mask, has no output scale and
/// takes the softmax maximum over raw scores (the maximum of alpha * score only for alpha > 0).
fn attention_shape(g: &Graph, id: NodeId) -> Result<AttentionShape> {
    let Op::Attention {
        heads,
        alpha,
        out_alpha,
        masked,
    } = g.node(id).op
    else {
        unreachable!("called on attention nodes only")
    };
    let ins = g.inputs(id);
    let (q, v) = (&g.node(ins[0]).ty.shape, &g.node(ins[2]).ty.shape);
    let fail = |why: &str| Err(unsupported(g, id, &format!("the CPU attention kernel {why}")));
    let Some(heads) = heads else {
        return fail("reads the heads in place: it needs q, k, v as [seq, heads * d]");
    };
    if !masked {
        return fail("needs a key mask");
    }
    if out_alpha != 1.0 || alpha <= 0.0 {
        return fail("takes alpha > 0 and no output scale");
    }
    if q[1] != v[1] {
        return fail("needs values as wide as queries");
    }
    Ok(AttentionShape {
        heads,
        head_dim: q[1] / heads,
        alpha,
    })
}

/// Layout of an IR value on the CPU: rank 1 plain, rank 2 [positions, features] and rank 4
/// [N, C, H, W] feature-major.
fn layout_of(g: &Graph, id: NodeId) -> Result<Layout> {
    let s = &g.node(id).ty.shape;
    match s[..] {
        [n] => Ok(Layout::Vec1(n)),
        [p, f] => Ok(Layout::Fm(Fm {
            rows: f,
            cols: p,
            ld: padded(p),
        })),
        [n, c, h, w] => Ok(Layout::Fm(Fm {
            rows: c,
            cols: n * h * w,
            ld: padded(n * h * w),
        })),
        _ => Err(unsupported(
            g,
            id,
            "values of this rank only exist inside fused attention",
        )),
    }
}

fn dense_param(w: &Weights, name: &str) -> Result<Vec<f32>> {
    Ok(w.dense(name)?.data().to_vec())
}

/// The weight step for linear node `lin` (packed weight, bias, activation), adding `residual`
/// in its epilogue when the layer has one.
fn weight_step(
    g: &Graph,
    weights: &Weights,
    lin: NodeId,
    residual: Option<Val>,
    out: Val,
    vals: &BTreeMap<NodeId, Val>,
) -> Result<Step> {
    let Op::Linear { weight, bias, act, .. } = &g.node(lin).op else {
        unreachable!("called on linear nodes only")
    };
    let sparsity = &g.param(weight).expect("validated graph").sparsity;
    Ok(Step::Weight {
        w: pack_weight(weight, weights.dense(weight)?, sparsity)?,
        bias: bias.as_deref().map(|b| dense_param(weights, b)).transpose()?,
        act: *act,
        residual,
        x: vals[&g.inputs(lin)[0]],
        out,
    })
}

/// Builds the plan for `graph` with `weights`.
pub fn lower(graph: &Graph, weights: &Weights) -> Result<Plan> {
    let mut g = graph.clone();
    Pipeline::kernels().run(&mut g)?;
    weights.check_against(graph)?;

    let mut vals: BTreeMap<NodeId, Val> = BTreeMap::new();
    let mut layouts: Vec<Layout> = Vec::new();
    let mut steps = Vec::new();
    let mut constants = Vec::new();
    let mut scratch = 0usize;
    let new_val = |id: NodeId, layouts: &mut Vec<Layout>, vals: &mut BTreeMap<NodeId, Val>| -> Result<Val> {
        layouts.push(layout_of(&g, id)?);
        vals.insert(id, layouts.len() - 1);
        Ok(layouts.len() - 1)
    };
    for id in g.topo_order() {
        let node = g.node(id);
        let ins = g.inputs(id);
        let out = new_val(id, &mut layouts, &mut vals)?;
        let v = |n: &NodeId| vals[n];
        let step = match &node.op {
            Op::Input { name, ty } => Step::Input {
                name: name.clone(),
                dtype: ty.dtype,
                shape: ty.shape.clone(),
                out,
            },
            Op::Arange { len } => {
                constants.push((out, (0..*len).map(|i| i as f32).collect()));
                continue;
            }
            Op::Embedding { table } => {
                let t = weights.dense(table)?;
                Step::Embedding {
                    node: g.label(id),
                    table: t.data().to_vec(),
                    dim: t.shape()[1],
                    ids: v(&ins[0]),
                    out,
                }
            }
            Op::Linear { residual, .. } => {
                let residual = residual.then(|| v(&ins[1]));
                weight_step(&g, weights, id, residual, out, &vals)?
            }
            Op::Add => Step::Add {
                a: v(&ins[0]),
                b: v(&ins[1]),
                out,
            },
            Op::BiasAdd { bias } => Step::Bias {
                bias: dense_param(weights, bias)?,
                x: v(&ins[0]),
                out,
            },
            Op::Act(a) => Step::Act {
                act: *a,
                x: v(&ins[0]),
                out,
            },
            Op::LayerNorm { gamma, beta, eps } => {
                scratch = scratch.max(2 * layouts[out].fm().ld);
                Step::LayerNorm {
                    gamma: dense_param(weights, gamma)?,
                    beta: dense_param(weights, beta)?,
                    eps: *eps,
                    x: v(&ins[0]),
                    out,
                }
            }
            Op::Attention { .. } => {
                let shape = attention_shape(&g, id)?;
                let f = layouts[v(&ins[0])].fm();
                scratch = scratch.max(shape.heads * AttentionShape::scratch_per_head(f.cols, f.ld));
                Step::Attention {
                    shape,
                    q: v(&ins[0]),
                    k: v(&ins[1]),
                    v: v(&ins[2]),
                    mask: v(&ins[3]),
                    out,
                }
            }
            Op::MaskedMean => Step::MaskedMean {
                x: v(&ins[0]),
                mask: v(&ins[1]),
                out,
            },
            Op::L2Normalize if ins.iter().all(|i| g.node(*i).ty.shape.len() == 1) => {
                Step::L2Normalize { x: v(&ins[0]), out }
            }
            Op::Conv2d {
                weight,
                bias,
                stride,
                padding,
            } => {
                let (xs, ys) = (&g.node(ins[0]).ty.shape, &node.ty.shape);
                let ws = weights.dense(weight)?.shape().to_vec();
                let window = Window {
                    n: xs[0],
                    h: xs[2],
                    w: xs[3],
                    kh: ws[2],
                    kw: ws[3],
                    stride: *stride,
                    pad: *padding,
                    ho: ys[2],
                    wo: ys[3],
                };
                scratch = scratch.max(ws[1] * ws[2] * ws[3] * padded(ys[0] * ys[2] * ys[3]));
                Step::Conv {
                    w: pack_weight(
                        weight,
                        weights.dense(weight)?,
                        &g.param(weight).expect("validated").sparsity,
                    )?,
                    bias: bias.as_deref().map(|b| dense_param(weights, b)).transpose()?,
                    window,
                    channels: xs[1],
                    x: v(&ins[0]),
                    out,
                }
            }
            Op::Pool { kind, size, stride } => {
                let (xs, ys) = (&g.node(ins[0]).ty.shape, &node.ty.shape);
                let window = Window {
                    n: xs[0],
                    h: xs[2],
                    w: xs[3],
                    kh: *size,
                    kw: *size,
                    stride: *stride,
                    pad: 0,
                    ho: ys[2],
                    wo: ys[3],
                };
                Step::Pool {
                    kind: *kind,
                    window,
                    channels: xs[1],
                    x: v(&ins[0]),
                    out,
                }
            }
            Op::Flatten if g.node(ins[0]).ty.shape.len() == 4 => {
                let xs = &g.node(ins[0]).ty.shape;
                Step::Flatten {
                    channels: xs[1],
                    batch: xs[0],
                    plane: xs[2] * xs[3],
                    x: v(&ins[0]),
                    out,
                }
            }
            Op::SpMM { adj } => match weights.get(adj) {
                Some(ParamValue::Csr(a)) => Step::SpMM {
                    adj: a.clone(),
                    x: v(&ins[0]),
                    out,
                },
                _ => {
                    return Err(unsupported(&g, id, "adjacency is not bound to a CSR matrix"));
                }
            },
            _ => {
                return Err(unsupported(&g, id, "no CPU kernel for this op in this position"));
            }
        };
        steps.push(step);
    }
    // Weight formats that work through spectra (circulant) need scratch beside the im2col
    // columns of a convolution.
    for step in &steps {
        match step {
            Step::Weight { w, x, .. } => scratch = scratch.max(w.scratch_len(layouts[*x].fm().ld)),
            Step::Conv { w, out, .. } => {
                let ld = layouts[*out].fm().ld;
                scratch = scratch.max(w.cols() * ld + w.scratch_len(ld));
            }
            _ => {}
        }
    }
    let outputs: Vec<Val> = g.outputs().iter().map(|o| vals[o]).collect();
    let output_shapes = g.outputs().iter().map(|o| g.node(*o).ty.shape.clone()).collect();
    let mut plan = Plan {
        steps,
        layouts,
        constants,
        outputs,
        output_shapes,
        buffer_of: Vec::new(),
        buffer_sizes: Vec::new(),
        scratch,
    };
    plan.assign_buffers();
    Ok(plan)
}
