use crate::error::Result;
use crate::graph::{Graph, NodeId};
use crate::op::{Activation, Op};
use crate::pass::Pass;

/// Folds a bias add and then an activation that directly follow a linear layer into the linear
/// layer's epilogue (`linear -> bias_add -> gelu` becomes one `linear {act=gelu}`), so a backend
/// applies them while the product is still in registers. Only fuses when the linear layer's value
/// has no other reader and is not a graph output.
#[derive(Debug, Clone, Copy, Default)]
pub struct FuseLinearEpilogue;

/// The single reader of `id`, if `id` is not also a graph output.
fn sole_user(graph: &Graph, id: NodeId) -> Option<NodeId> {
    match graph.users(id)[..] {
        [u] if !graph.outputs().contains(&id) && graph.inputs(u).len() == 1 => Some(u),
        _ => None,
    }
}

impl FuseLinearEpilogue {
    /// Tries one fusion at linear node `id`; true if it changed the graph.
    fn fuse_at(graph: &mut Graph, id: NodeId) -> Result<bool> {
        let Op::Linear { weight, bias, act } = graph.node(id).op.clone() else {
            return Ok(false);
        };
        let Some(user) = sole_user(graph, id) else {
            return Ok(false);
        };
        let fused = match (&graph.node(user).op, &bias, act) {
            (Op::BiasAdd { bias: b }, None, Activation::Identity) => Op::Linear {
                weight,
                bias: Some(b.clone()),
                act,
            },
            (Op::Act(a), _, Activation::Identity) => Op::Linear { weight, bias, act: *a },
            _ => return Ok(false),
        };
        let inputs = graph.inputs(id);
        graph.set_op(id, fused, &inputs)?;
        graph.replace_uses(user, id);
        graph.remove(user);
        Ok(true)
    }
}

impl Pass for FuseLinearEpilogue {
    fn name(&self) -> &'static str {
        "fuse-linear-epilogue"
    }

    fn run(&self, graph: &mut Graph) -> Result<usize> {
        let mut changes = 0;
        for id in graph.topo_order() {
            // A linear node can absorb a bias and then an activation: retry until it stops.
            while graph.contains(id) && Self::fuse_at(graph, id)? {
                changes += 1;
            }
        }
        Ok(changes)
    }
}
