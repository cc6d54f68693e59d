//! Fusion: groups of IR nodes that one WGSL kernel computes, found before lowering. The
//! absorbed nodes get no buffer and no dispatch; the group's last node is computed in their
//! place.

use std::collections::{BTreeMap, BTreeSet};

use canao_ir::pattern::{AttentionBlock, attention, residual_linear};
use canao_ir::{Graph, NodeId};

#[derive(Debug, Default)]
pub struct Fusions {
    /// Residual adds computed in a linear layer's epilogue: add -> (linear, other operand).
    pub residual: BTreeMap<NodeId, (NodeId, NodeId)>,
    /// Attention blocks, keyed by their context product.
    pub attention: BTreeMap<NodeId, AttentionBlock>,
}

impl Fusions {
    /// Finds every group in `g`. `attention_fits` says whether the fused attention kernel can
    /// run a block (its scores must fit in workgroup memory); blocks it refuses stay unfused.
    pub fn find(g: &Graph, attention_fits: impl Fn(&AttentionBlock) -> bool) -> Self {
        let mut f = Self::default();
        for id in g.topo_order() {
            if let Some(pair) = residual_linear(g, id) {
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
