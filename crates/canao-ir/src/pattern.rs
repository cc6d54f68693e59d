//! Subgraphs that backends compute as one kernel, matched here once so every backend fuses the
//! same shapes of graph. Each backend adds its own conditions (what its kernel supports).

use crate::{Graph, NodeId, Op};

/// An `add` with a linear operand that only it reads: (linear, other operand). The linear
/// layer's kernel can add the other operand in its epilogue.
pub fn residual_linear(g: &Graph, add: NodeId) -> Option<(NodeId, NodeId)> {
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

/// One attention block: `ctx = out_alpha * probs v`, `probs = softmax(scores)` over the keys
/// the mask keeps (all without one), `scores = alpha * q k^T`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionBlock {
    pub q: NodeId,
    pub k: NodeId,
    pub v: NodeId,
    pub mask: Option<NodeId>,
    pub alpha: f32,
    pub out_alpha: f32,
    /// The intermediate nodes, read by nothing outside the block.
    pub scores: NodeId,
    pub probs: NodeId,
}

/// The attention block whose context product is `ctx`, if the scores and probabilities have no
/// other reader.
pub fn attention(g: &Graph, ctx: NodeId) -> Option<AttentionBlock> {
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
    (g.sole_user(probs) == Some(ctx) && g.sole_user(scores) == Some(probs)).then_some(AttentionBlock {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builders::{BertArch, BertLayer};

    /// After the standard passes (which fold biases into linear layers), a BERT encoder has one
    /// attention block and two residual linear layers per layer; the embedding sums are adds of
    /// no linear layer.
    #[test]
    fn bert_blocks_are_found() {
        let layer = BertLayer {
            hidden: 12,
            heads: 3,
            ffn: 20,
        };
        let mut g = BertArch {
            vocab: 40,
            max_positions: 40,
            type_vocab: 2,
            seq: 7,
            hidden: 12,
            head_dim: 4,
            layer_norm_eps: 1e-12,
            layers: vec![layer; 2],
        }
        .build()
        .unwrap();
        crate::pass::Pipeline::standard().run(&mut g).unwrap();
        let order = g.topo_order();
        let blocks: Vec<AttentionBlock> = order.iter().filter_map(|&id| attention(&g, id)).collect();
        assert_eq!(blocks.len(), 2);
        for b in &blocks {
            assert!(b.mask.is_some() && b.out_alpha == 1.0 && (b.alpha - 0.5).abs() < 1e-7);
            assert!(matches!(g.node(b.q).op, Op::SplitHeads { heads: 3 }));
        }
        let residuals: Vec<(NodeId, NodeId)> = order.iter().filter_map(|&id| residual_linear(&g, id)).collect();
        assert_eq!(residuals.len(), 4);
        let adds = order.iter().filter(|&&id| matches!(g.node(id).op, Op::Add)).count();
        assert!(
            adds > residuals.len(),
            "the embedding adds are not residual linear layers"
        );
    }
}
