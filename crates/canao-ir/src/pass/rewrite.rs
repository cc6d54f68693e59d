//! Patch-based rewriting: a [`Rule`] looks at one node and may propose a [`Patch`]; the
//! [`Rewriter`] applies its rules over the graph until none fires. Every fusion canao makes is a
//! rule (the rule next to the op it creates, in `op/`), so a fused graph is an ordinary graph:
//! printed by the text form, costed by the IR and mapped to kernels by each backend without any
//! backend rediscovering the pattern.

use crate::error::{IrError, Result};
use crate::graph::{Graph, NodeId};
use crate::op::Op;
use crate::pass::{Changes, Pass};

/// A rewrite of one node in place: `node` takes `op` over `inputs` (its type must not change),
/// the users of `replaces` read `node` instead, and each node of `absorbed` that no longer has a
/// reader is removed. Keeping the id of the node that survives keeps the text form and the order
/// of a backend's steps stable under fusion.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    pub node: NodeId,
    pub op: Op,
    pub inputs: Vec<NodeId>,
    pub replaces: NodeId,
    pub absorbed: Vec<NodeId>,
}

impl Patch {
    /// A patch whose fused op takes the place of `node` itself.
    pub fn at(node: NodeId, op: Op, inputs: Vec<NodeId>, absorbed: Vec<NodeId>) -> Self {
        Self {
            node,
            op,
            inputs,
            replaces: node,
            absorbed,
        }
    }

    fn apply(self, g: &mut Graph) -> Result<()> {
        g.set_op(self.node, self.op, &self.inputs)?;
        if self.replaces != self.node {
            g.replace_uses(self.replaces, self.node);
        }
        for n in self.absorbed {
            if g.contains(n) && n != self.node && g.users(n).is_empty() && !g.outputs().contains(&n) {
                g.remove(n);
            }
        }
        Ok(())
    }
}

/// One local rewrite. `propose` only reads the graph; it returns a patch when its pattern is
/// rooted at `node` and every condition for an equivalent rewrite holds.
pub trait Rule {
    fn name(&self) -> &'static str;
    fn propose(&self, g: &Graph, node: NodeId) -> Option<Patch>;
}

/// Runs a set of rules to a fixpoint: sweeps the graph in topological order, applying the first
/// rule that fires at each node, until a sweep changes nothing.
pub struct Rewriter {
    name: &'static str,
    rules: Vec<Box<dyn Rule>>,
}

/// Sweeps after which a rule set that keeps firing is treated as looping. Each fusion removes
/// at least one node, so a terminating set needs at most as many sweeps as the graph has nodes.
const MAX_SWEEPS: usize = 10_000;

impl std::fmt::Debug for Rewriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rewriter {}[{}]", self.name, self.rules().join(", "))
    }
}

impl Rewriter {
    pub fn new(name: &'static str, rules: Vec<Box<dyn Rule>>) -> Self {
        Self { name, rules }
    }

    /// The names of the rules, in the order they are tried.
    pub fn rules(&self) -> Vec<&'static str> {
        self.rules.iter().map(|r| r.name()).collect()
    }

    /// One sweep: each rule's count of applications.
    fn sweep(&self, g: &mut Graph, counts: &mut [usize]) -> Result<usize> {
        let mut fired = 0;
        for id in g.topo_order() {
            if !g.contains(id) {
                continue;
            }
            for (i, rule) in self.rules.iter().enumerate() {
                let Some(patch) = rule.propose(g, id) else { continue };
                let label = g.label(id);
                patch.apply(g).map_err(|e| IrError::Rewrite {
                    rule: rule.name(),
                    node: label,
                    detail: e.to_string(),
                })?;
                counts[i] += 1;
                fired += 1;
                break;
            }
        }
        Ok(fired)
    }
}

impl Pass for Rewriter {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, graph: &mut Graph) -> Result<Changes> {
        let mut counts = vec![0; self.rules.len()];
        for _ in 0..MAX_SWEEPS {
            if self.sweep(graph, &mut counts)? == 0 {
                return Ok(self.rules().into_iter().zip(counts).collect());
            }
        }
        Err(IrError::Rewrite {
            rule: self.name,
            node: "the whole graph".into(),
            detail: format!("rules still fire after {MAX_SWEEPS} sweeps"),
        })
    }
}
