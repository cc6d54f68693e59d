//! Moving between the [seq, heads * d] layout of linear layers and the per-head layout
//! [heads, seq, d] that attention's batched products use; the fused `attention` op and the
//! rules that make it from the unfused block.

use crate::cost::Cost;
use crate::dtype::TensorType;
use crate::graph::{Graph, NodeId};
use crate::op::shape_error::{Axis, Rank};
use crate::op::util::{expect_f32, expect_rank};
use crate::op::{InferResult, Op, ShapeError};
use crate::pass::{Patch, Rule};

pub fn infer_split(x: &TensorType, heads: usize) -> InferResult {
    expect_f32(x, "split_heads input")?;
    expect_rank(x, 2, "split_heads input")?;
    if heads == 0 || !x.shape[1].is_multiple_of(heads) {
        return Err(ShapeError::Heads {
            widths: vec![x.shape[1]],
            heads,
        });
    }
    Ok(TensorType::f32(vec![heads, x.shape[0], x.shape[1] / heads]))
}

pub fn infer_merge(x: &TensorType) -> InferResult {
    expect_f32(x, "merge_heads input")?;
    expect_rank(x, 3, "merge_heads input")?;
    Ok(TensorType::f32(vec![x.shape[1], x.shape[0] * x.shape[2]]))
}

/// The per-problem sizes of a fused attention: (problems, queries, keys, query width, value
/// width). With `heads`, inputs are [seq, heads * d] and problems are heads; without, they are
/// [batch?, seq, d] and problems are the batch.
fn attention_dims(
    q: &TensorType,
    k: &TensorType,
    v: &TensorType,
    heads: Option<usize>,
) -> Result<[usize; 5], ShapeError> {
    for (t, what) in [(q, "attention queries"), (k, "attention keys"), (v, "attention values")] {
        expect_f32(t, what)?;
    }
    let differ = |axis| ShapeError::Differ {
        op: "attention",
        axis,
        operands: vec![q.clone(), k.clone(), v.clone()],
    };
    let rank = q.shape.len();
    if k.shape.len() != rank || v.shape.len() != rank {
        return Err(differ(Axis::Rank));
    }
    let (lead, rows) = match (heads, rank) {
        (Some(_), 2) => (1, 0),
        (None, 2) => (1, 0),
        (None, 3) => (q.shape[0], 1),
        _ => {
            return Err(ShapeError::Rank {
                what: "attention queries",
                expected: if heads.is_some() {
                    Rank::Exactly(2)
                } else {
                    Rank::TwoOrThree
                },
                got: q.clone(),
            });
        }
    };
    if rank == 3 && (k.shape[0] != lead || v.shape[0] != lead) {
        return Err(differ(Axis::Batch));
    }
    let (queries, keys) = (q.shape[rows], k.shape[rows]);
    if v.shape[rows] != keys {
        return Err(ShapeError::ValuesPerKey {
            values: v.clone(),
            keys: k.clone(),
        });
    }
    let (qw, kw, vw) = (q.shape[rows + 1], k.shape[rows + 1], v.shape[rows + 1]);
    if qw != kw {
        return Err(ShapeError::Differ {
            op: "attention",
            axis: Axis::Width,
            operands: vec![q.clone(), k.clone()],
        });
    }
    let h = heads.unwrap_or(lead);
    if heads.is_some() && (h == 0 || !qw.is_multiple_of(h) || !vw.is_multiple_of(h)) {
        return Err(ShapeError::Heads {
            widths: vec![qw, vw],
            heads: h,
        });
    }
    let split = if heads.is_some() { h } else { 1 };
    Ok([h, queries, keys, qw / split, vw / split])
}

/// Output type of a fused attention over `ins` = q, k, v and, when `masked`, the key mask [keys].
pub fn infer_attention(ins: &[&TensorType], heads: Option<usize>, masked: bool) -> InferResult {
    let [_, queries, keys, _, dv] = attention_dims(ins[0], ins[1], ins[2], heads)?;
    if masked {
        let mask = ins[3];
        expect_f32(mask, "attention mask")?;
        if mask.shape != [keys] {
            return Err(ShapeError::Mask {
                mask: mask.clone(),
                per: "key",
                of: ins[1].clone(),
            });
        }
    }
    let mut shape = ins[2].shape.clone();
    let rank = shape.len();
    shape[rank - 2] = queries;
    if let Some(h) = heads {
        shape[rank - 1] = dv * h;
    }
    Ok(TensorType::f32(shape))
}

/// The scores and the context products plus the softmax; nothing in between touches memory.
pub fn cost_attention(io: u64, ins: &[&TensorType], heads: Option<usize>) -> Cost {
    let [h, q, s, d, dv] = attention_dims(ins[0], ins[1], ins[2], heads).expect("inferred before costing");
    let scores = (h * q * s) as u64;
    Cost {
        flops: 2 * scores * d as u64 + 5 * scores + 2 * scores * dv as u64,
        macs: scores * (d + dv) as u64,
        bytes: io,
        params: 0,
    }
}

/// `softmax(alpha q k^T) v`, scaled by `out_alpha`, becomes one `attention` op when nothing
/// else reads the scores or the probabilities: a kernel then keeps them out of memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct FuseAttention;

impl Rule for FuseAttention {
    fn name(&self) -> &'static str {
        "fuse-attention"
    }

    fn propose(&self, g: &Graph, ctx: NodeId) -> Option<Patch> {
        let Op::MatMul {
            transpose_b: false,
            alpha: out_alpha,
        } = g.node(ctx).op
        else {
            return None;
        };
        let [probs, v] = g.inputs(ctx)[..] else { return None };
        let masked = match g.node(probs).op {
            Op::Softmax => false,
            Op::MaskedSoftmax => true,
            _ => return None,
        };
        let probs_in = g.inputs(probs);
        let scores = probs_in[0];
        let Op::MatMul {
            transpose_b: true,
            alpha,
        } = g.node(scores).op
        else {
            return None;
        };
        if g.sole_user(probs) != Some(ctx) || g.sole_user(scores) != Some(probs) {
            return None;
        }
        let mut inputs = g.inputs(scores);
        inputs.push(v);
        inputs.extend(probs_in.get(1));
        let op = Op::Attention {
            heads: None,
            alpha,
            out_alpha,
            masked,
        };
        Some(Patch::at(ctx, op, inputs, vec![probs, scores]))
    }
}

/// `merge_heads(attention(split_heads(q), split_heads(k), split_heads(v)))` with one head count
/// becomes an attention over q, k, v in the linear layers' [seq, heads * d] layout, so a kernel
/// reads each head in place instead of copying it out and back.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttentionHeads;

impl Rule for AttentionHeads {
    fn name(&self) -> &'static str {
        "attention-heads"
    }

    fn propose(&self, g: &Graph, merge: NodeId) -> Option<Patch> {
        if !matches!(g.node(merge).op, Op::MergeHeads) {
            return None;
        }
        let att = g.inputs(merge)[0];
        let Op::Attention {
            heads: None,
            alpha,
            out_alpha,
            masked,
        } = g.node(att).op
        else {
            return None;
        };
        if g.sole_user(att) != Some(merge) {
            return None;
        }
        let ins = g.inputs(att);
        let mut heads = None;
        let mut inputs = Vec::with_capacity(ins.len());
        for &split in &ins[..3] {
            let Op::SplitHeads { heads: h } = g.node(split).op else {
                return None;
            };
            if heads.is_some_and(|seen| seen != h) || g.sole_user(split) != Some(att) {
                return None;
            }
            heads = Some(h);
            inputs.push(g.inputs(split)[0]);
        }
        inputs.extend(ins.get(3));
        let op = Op::Attention {
            heads,
            alpha,
            out_alpha,
            masked,
        };
        let mut absorbed = vec![att];
        absorbed.extend(&ins[..3]);
        Some(Patch::at(merge, op, inputs, absorbed))
    }
}

#[cfg(test)]
mod tests {
    use crate::builders::tiny_bert;
    use crate::pass::{Pass, Pipeline, kernel_fusions};
    use crate::{Op, parse_graph};

    /// Each BERT layer's attention becomes one `attention {heads=3}` op reading the q, k and v
    /// projections; no split, merge, softmax or activation product is left.
    #[test]
    fn attention_rules_fire_once_per_layer() {
        let mut g = tiny_bert(2);
        Pipeline::standard().run(&mut g).unwrap();
        let fused = kernel_fusions().run(&mut g).unwrap();
        assert_eq!(fused[1..], [("fuse-attention", 2), ("attention-heads", 2)]);
        g.validate().unwrap();
        let ops: Vec<&Op> = g.topo_order().into_iter().map(|id| &g.node(id).op).collect();
        let fused: Vec<&&Op> = ops.iter().filter(|op| matches!(op, Op::Attention { .. })).collect();
        assert_eq!(fused.len(), 2);
        for op in fused {
            let Op::Attention {
                heads,
                alpha,
                out_alpha,
                masked,
            } = op
            else {
                unreachable!()
            };
            assert!(*heads == Some(3) && (*alpha - 0.5).abs() < 1e-7 && *out_alpha == 1.0 && *masked);
        }
        let gone = ["split_heads", "merge_heads", "masked_softmax", "matmul"];
        assert!(ops.iter().all(|op| !gone.contains(&op.kind())));
        let text = g.to_string();
        assert!(text.contains("attention(") && text.contains("heads=3"), "{text}");
        assert_eq!(parse_graph(&text).unwrap(), g);
    }

    /// A probability matrix that is also a graph output keeps the block apart: the rule never
    /// drops a value someone reads.
    #[test]
    fn attention_rule_leaves_read_probabilities() {
        let mut g = tiny_bert(1);
        Pipeline::standard().run(&mut g).unwrap();
        let probs = g
            .topo_order()
            .into_iter()
            .find(|&id| matches!(g.node(id).op, Op::MaskedSoftmax))
            .unwrap();
        let mut outs = g.outputs().to_vec();
        outs.push(probs);
        g.set_outputs(outs).unwrap();
        let fused = kernel_fusions().run(&mut g).unwrap();
        assert_eq!(fused[1..], [("fuse-attention", 0), ("attention-heads", 0)]);
    }

    /// Shape errors of the fused op name what does not fit.
    #[test]
    fn attention_shapes_are_checked() {
        let text = "graph \"a\" {\n  %0 = input() {name=\"q\"} : f32[4,6]\n  %1 = input() {name=\"k\"} : f32[5,6]\n  %2 = input() {name=\"v\"} : f32[4,6]\n  %3 = attention(%0, %1, %2) {heads=2, alpha=1.0, out_alpha=1.0, masked=false} : f32[4,6]\n  output %3\n}\n";
        let msg = parse_graph(text).unwrap_err().to_string();
        assert!(msg.contains("one row per key"), "{msg}");
        let ok = text
            .replace("f32[4,6]\n  %3", "f32[5,8]\n  %3")
            .replace(": f32[4,6]\n  output", ": f32[4,8]\n  output");
        parse_graph(&ok).unwrap();
        let bad_heads = ok.replace("heads=2", "heads=5");
        let msg = parse_graph(&bad_heads).unwrap_err().to_string();
        assert!(msg.contains("do not split into 5 heads"), "{msg}");
    }
}
