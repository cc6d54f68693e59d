use std::collections::BTreeSet;

use crate::error::Result;
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use crate::pass::{Changes, Pass};

/// Removes nodes no output depends on, then parameters no node reads. Graph inputs stay, so the
/// graph's interface does not change under optimisation.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadNodeElimination;

impl Pass for DeadNodeElimination {
    fn name(&self) -> &'static str {
        "dead-node-elimination"
    }

    fn run(&self, graph: &mut Graph) -> Result<Changes> {
        let mut live: BTreeSet<NodeId> = BTreeSet::new();
        let mut stack: Vec<NodeId> = graph.outputs().to_vec();
        while let Some(n) = stack.pop() {
            if live.insert(n) {
                stack.extend(graph.inputs(n));
            }
        }
        let dead: Vec<NodeId> = graph
            .topo_order()
            .into_iter()
            .filter(|n| !live.contains(n) && !matches!(graph.node(*n).op, Op::Input { .. }))
            .collect();
        for &n in &dead {
            graph.remove(n);
        }
        graph.prune_params();
        Ok(vec![(self.name(), dead.len())])
    }
}
