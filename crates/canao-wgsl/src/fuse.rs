//! Fusion: groups of IR nodes that one WGSL kernel computes, found before lowering. The
//! absorbed nodes get no buffer and no dispatch; the group's last node is computed in their
//! place.

use std::collections::{BTreeMap, BTreeSet};

use canao_ir::{Graph, NodeId, Op};

/// softmax(alpha * q k^T, over the kept keys) v, scaled by `out_alpha`: the two matrix products
/// and the softmax of one attention block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attention {
    pub q: NodeId,
    pub k: NodeId,
    pub v: NodeId,
    /// The key mask, for a masked softmax.
    pub mask: Option<NodeId>,
    pub alpha: f32,
    pub out_alpha: f32,
    /// The scores and probabilities, which are never stored.
    pub scores: NodeId,
    pub probs: NodeId,
}

#[derive(Debug, Default)]
pub struct Fusions {
    /// Residual adds computed in a linear layer's epilogue: add -> (linear, other operand).
    pub residual: BTreeMap<NodeId, (NodeId, NodeId)>,
    /// Attention blocks, keyed by their context product.
    pub attention: BTreeMap<NodeId, Attention>,
}

impl Fusions {
    /// Finds every group in `g`. `attention_fits` says whether the fused attention kernel can
    /// run a block (its scores must fit in workgroup memory); blocks it refuses stay unfused.
    pub fn find(g: &Graph, attention_fits: impl Fn(&Attention) -> bool) -> Self {
        let mut f = Self::default();
        for id in g.topo_order() {
            if let Some(pair) = residual(g, id) {
                f.residual.insert(id, pair);
            }
            if let Some(a) = attention(g, id).filter(&attention_fits) {
                f.attention.insert(id, a);
            }
        }
        f
    }

    /// Nodes computed inside another node's kernel.
    pub fn absorbed(&self) -> BTreeSet<NodeId> {
        let lins = self.residual.values().map(|(lin, _)| *lin);
        let att = self.attention.values().flat_map(|a| [a.scores, a.probs]);
        lins.chain(att).collect()
    }
}

/// An `add` with a linear operand that only it reads: (linear, other operand).
fn residual(g: &Graph, add: NodeId) -> Option<(NodeId, NodeId)> {
    if !matches!(g.node(add).op, Op::Add) {
        return None;
    }
    let ins = g.inputs(add);
    let lin = ins
        .iter()
        .copied()
        .find(|&i| matches!(g.node(i).op, Op::Linear { .. }) && g.sole_user(i) == Some(add))?;
    let other = if ins[0] == lin { ins[1] } else { ins[0] };
    (other != lin).then_some((lin, other))
}

/// `ctx = probs v` with `probs = (masked) softmax(scores)` and `scores = alpha q k^T`, where the
/// scores and probabilities have no other reader.
fn attention(g: &Graph, ctx: NodeId) -> Option<Attention> {
    let Op::MatMul {
        transpose_b: false,
        alpha: out_alpha,
    } = g.node(ctx).op
    else {
        return None;
    };
    let [probs, v] = g.inputs(ctx)[..] else { return None };
    let mask = match g.node(probs).op {
        Op::Softmax => None,
        Op::MaskedSoftmax => Some(g.inputs(probs)[1]),
        _ => return None,
    };
    let scores = g.inputs(probs)[0];
    let Op::MatMul {
        transpose_b: true,
        alpha,
    } = g.node(scores).op
    else {
        return None;
    };
    let [q, k] = g.inputs(scores)[..] else { return None };
    (g.sole_user(probs) == Some(ctx) && g.sole_user(scores) == Some(probs)).then_some(Attention {
        q,
        k,
        v,
        mask,
        alpha,
        out_alpha,
        scores,
        probs,
    })
}
