use std::collections::BTreeMap;
use std::fmt;

use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, Topo};
use serde::{Deserialize, Serialize};

use crate::cost::{Cost, GraphCost, KindCost};
use crate::dtype::TensorType;
use crate::error::{IrError, Result};
use crate::op::{Op, Params, ShapeError};
use crate::sparsity::Sparsity;

/// A node's id; stable across deletions of other nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub u32);

impl NodeId {
    fn index(self) -> NodeIndex {
        NodeIndex::new(self.0 as usize)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// A declared parameter: its shape and the structure its values are constrained to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub shape: Vec<usize>,
    pub sparsity: Sparsity,
}

impl ParamSpec {
    pub fn dense(shape: Vec<usize>) -> Self {
        Self {
            shape,
            sparsity: Sparsity::Dense,
        }
    }

    /// The 2-D view sparsity applies to: [first dim, product of the rest].
    pub fn matrix_shape(&self) -> Vec<usize> {
        match self.shape.split_first() {
            Some((d0, rest)) if !rest.is_empty() => vec![*d0, rest.iter().product()],
            _ => self.shape.clone(),
        }
    }

    /// Values stored for this parameter under its sparsity.
    pub fn stored(&self) -> u64 {
        if self.sparsity.is_dense() {
            self.shape.iter().product::<usize>() as u64
        } else {
            self.sparsity.stored(&self.matrix_shape())
        }
    }
}

/// One node: its op and its inferred output type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub op: Op,
    pub ty: TensorType,
}

/// A dataflow graph: nodes are ops, edges carry values (the edge weight is the input slot).
/// Parameters are declared by name; their values live in a [`crate::Weights`] store.
#[derive(Debug, Clone)]
pub struct Graph {
    name: String,
    g: StableDiGraph<Node, u32>,
    params: Params,
    outputs: Vec<NodeId>,
}

impl Graph {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            g: StableDiGraph::new(),
            params: Params::new(),
            outputs: Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Declares a parameter; its sparsity is checked against its shape.
    pub fn add_param(&mut self, name: impl Into<String>, spec: ParamSpec) -> Result<String> {
        let name = name.into();
        if self.params.contains_key(&name) {
            return Err(IrError::Param {
                param: name,
                detail: "declared twice".into(),
            });
        }
        crate::dtype::check_elements(&spec.shape).map_err(|e| IrError::Param {
            param: name.clone(),
            detail: e.to_string(),
        })?;
        spec.sparsity.validate(&name, &spec.matrix_shape())?;
        self.params.insert(name.clone(), spec);
        Ok(name)
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn param(&self, name: &str) -> Option<&ParamSpec> {
        self.params.get(name)
    }

    /// Replaces a parameter's sparsity (compression results, search candidates).
    pub fn set_sparsity(&mut self, name: &str, sparsity: Sparsity) -> Result<()> {
        let spec = self.params.get_mut(name).ok_or_else(|| IrError::Param {
            param: name.to_string(),
            detail: "is not declared".into(),
        })?;
        sparsity.validate(name, &spec.matrix_shape())?;
        spec.sparsity = sparsity;
        Ok(())
    }

    /// Adds a node, inferring its type; errors name the node it would have been.
    pub fn add(&mut self, op: Op, inputs: &[NodeId]) -> Result<NodeId> {
        let reads: Vec<String> = inputs.iter().map(NodeId::to_string).collect();
        let label = format!("new {} reading [{}]", op.kind(), reads.join(", "));
        let ty = self.infer(&op, inputs, &label)?;
        let id = self.g.add_node(Node { op, ty });
        for (slot, &i) in inputs.iter().enumerate() {
            self.g.add_edge(i.index(), id, slot as u32);
        }
        Ok(NodeId(id.index() as u32))
    }

    fn infer(&self, op: &Op, inputs: &[NodeId], label: &str) -> Result<TensorType> {
        if inputs.len() != op.arity() {
            return Err(IrError::Shape {
                node: label.to_string(),
                detail: ShapeError::Arity {
                    expected: op.arity(),
                    got: inputs.len(),
                },
            });
        }
        let mut tys = Vec::with_capacity(inputs.len());
        for &i in inputs {
            let n = self.g.node_weight(i.index()).ok_or_else(|| IrError::DanglingInput {
                node: label.to_string(),
                missing: i.to_string(),
            })?;
            tys.push(&n.ty);
        }
        op.infer(&tys, &self.params)
            .and_then(|ty| crate::dtype::check_elements(&ty.shape).map(|()| ty))
            .map_err(|detail| IrError::Shape {
                node: label.to_string(),
                detail,
            })
    }

    pub fn set_outputs(&mut self, outputs: Vec<NodeId>) -> Result<()> {
        if let Some(o) = outputs.iter().find(|o| self.g.node_weight(o.index()).is_none()) {
            return Err(IrError::DanglingInput {
                node: "graph outputs".into(),
                missing: o.to_string(),
            });
        }
        self.outputs = outputs;
        Ok(())
    }

    pub fn outputs(&self) -> &[NodeId] {
        &self.outputs
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.g[id.index()]
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.g.contains_node(id.index())
    }

    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// Label used in errors and reports: `%12 (linear)`.
    pub fn label(&self, id: NodeId) -> String {
        format!("{id} ({})", self.node(id).op.kind())
    }

    /// The node's inputs in slot order.
    pub fn inputs(&self, id: NodeId) -> Vec<NodeId> {
        let mut e: Vec<(u32, NodeId)> = self
            .g
            .edges_directed(id.index(), Direction::Incoming)
            .map(|e| (*e.weight(), NodeId(e.source().index() as u32)))
            .collect();
        e.sort();
        e.into_iter().map(|(_, n)| n).collect()
    }

    /// Nodes that read this node's value (each once, in id order).
    /// The single reader of `id`, unless `id` is also a graph output: the condition for fusing
    /// a node into the one that consumes it.
    pub fn sole_user(&self, id: NodeId) -> Option<NodeId> {
        match self.users(id)[..] {
            [u] if !self.outputs().contains(&id) => Some(u),
            _ => None,
        }
    }

    pub fn users(&self, id: NodeId) -> Vec<NodeId> {
        let mut u: Vec<NodeId> = self
            .g
            .neighbors_directed(id.index(), Direction::Outgoing)
            .map(|n| NodeId(n.index() as u32))
            .collect();
        u.sort();
        u.dedup();
        u
    }

    /// All nodes, inputs before users; ties broken by id so the order is deterministic.
    pub fn topo_order(&self) -> Vec<NodeId> {
        // petgraph's Topo visits in an order that depends on edge insertion; sort ready nodes
        // by id instead so printing and equality do not depend on how a graph was built.
        let mut indeg: BTreeMap<NodeId, usize> = BTreeMap::new();
        for n in self.g.node_indices() {
            indeg.insert(
                NodeId(n.index() as u32),
                self.g.edges_directed(n, Direction::Incoming).count(),
            );
        }
        let mut ready: std::collections::BTreeSet<NodeId> =
            indeg.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
        let mut order = Vec::with_capacity(indeg.len());
        while let Some(n) = ready.pop_first() {
            order.push(n);
            for e in self.g.edges_directed(n.index(), Direction::Outgoing) {
                let t = NodeId(e.target().index() as u32);
                let d = indeg.get_mut(&t).expect("every node has a degree");
                *d -= 1;
                if *d == 0 {
                    ready.insert(t);
                }
            }
        }
        order
    }

    /// True when the graph has no cycle (graphs built through `add` never have one).
    pub fn is_acyclic(&self) -> bool {
        let mut topo = Topo::new(&self.g);
        let mut seen = 0;
        while topo.next(&self.g).is_some() {
            seen += 1;
        }
        seen == self.g.node_count()
    }

    /// Removes a node and its edges; the caller re-points its users first.
    pub fn remove(&mut self, id: NodeId) {
        self.g.remove_node(id.index());
        self.outputs.retain(|&o| o != id);
    }

    /// Makes every user of `old` (and the graph outputs) read `new` instead.
    pub fn replace_uses(&mut self, old: NodeId, new: NodeId) {
        let edges: Vec<(NodeIndex, u32)> = self
            .g
            .edges_directed(old.index(), Direction::Outgoing)
            .map(|e| (e.target(), *e.weight()))
            .collect();
        for (target, slot) in edges {
            if let Some(e) = self.g.find_edge(old.index(), target) {
                self.g.remove_edge(e);
            }
            self.g.add_edge(new.index(), target, slot);
        }
        for o in &mut self.outputs {
            if *o == old {
                *o = new;
            }
        }
    }

    /// Replaces a node's op, re-inferring its type, which must not change.
    pub fn set_op(&mut self, id: NodeId, op: Op, inputs: &[NodeId]) -> Result<()> {
        let label = self.label(id);
        let ty = self.infer(&op, inputs, &label)?;
        if ty != self.node(id).ty {
            return Err(IrError::Shape {
                node: label,
                detail: ShapeError::Changed {
                    from: self.node(id).ty.clone(),
                    to: ty,
                },
            });
        }
        let old: Vec<_> = self
            .g
            .edges_directed(id.index(), Direction::Incoming)
            .map(|e| e.id())
            .collect();
        for e in old {
            self.g.remove_edge(e);
        }
        for (slot, &i) in inputs.iter().enumerate() {
            self.g.add_edge(i.index(), id.index(), slot as u32);
        }
        self.g[id.index()] = Node { op, ty };
        Ok(())
    }

    /// Removes parameters no node reads.
    pub fn prune_params(&mut self) {
        let used: std::collections::BTreeSet<String> = self
            .g
            .node_weights()
            .flat_map(|n| n.op.params().into_iter().map(str::to_string))
            .collect();
        self.params.retain(|k, _| used.contains(k));
    }

    /// Re-checks every node's type and every parameter (after parsing or passes).
    pub fn validate(&self) -> Result<()> {
        for (name, spec) in &self.params {
            spec.sparsity.validate(name, &spec.matrix_shape())?;
        }
        if !self.is_acyclic() {
            return Err(IrError::Shape {
                node: "graph".into(),
                detail: ShapeError::Cycle,
            });
        }
        for id in self.topo_order() {
            let label = self.label(id);
            let ty = self.infer(&self.node(id).op, &self.inputs(id), &label)?;
            if ty != self.node(id).ty {
                return Err(IrError::Shape {
                    node: label,
                    detail: ShapeError::Annotated {
                        annotated: self.node(id).ty.clone(),
                        inferred: ty,
                    },
                });
            }
        }
        Ok(())
    }

    /// Cost of one node.
    pub fn node_cost(&self, id: NodeId) -> Cost {
        let ins: Vec<NodeId> = self.inputs(id);
        let tys: Vec<&TensorType> = ins.iter().map(|&i| &self.node(i).ty).collect();
        let n = self.node(id);
        n.op.cost(&tys, &n.ty, &self.params)
    }

    /// Cost in total and per op kind.
    pub fn cost(&self) -> GraphCost {
        let mut gc = GraphCost {
            nodes: self.node_count(),
            ..GraphCost::default()
        };
        for id in self.topo_order() {
            let c = self.node_cost(id);
            gc.total += c;
            let k: &mut KindCost = gc.by_kind.entry(self.node(id).op.kind().to_string()).or_default();
            k.count += 1;
            k.cost += c;
        }
        gc.params = self.params.values().map(ParamSpec::stored).sum();
        gc
    }

    /// The graph's inputs in id order: (name, node, type).
    pub fn inputs_of_graph(&self) -> Vec<(String, NodeId, TensorType)> {
        self.topo_order()
            .into_iter()
            .filter_map(|id| match &self.node(id).op {
                Op::Input { name, ty } => Some((name.clone(), id, ty.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Two graphs are equal when they have the same name, parameters, and the same nodes in
/// topological order with the same wiring, whatever their node ids.
impl PartialEq for Graph {
    fn eq(&self, other: &Self) -> bool {
        fn canonical(g: &Graph) -> (Vec<(Node, Vec<usize>)>, Vec<usize>) {
            let order = g.topo_order();
            let pos: BTreeMap<NodeId, usize> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
            let nodes = order
                .iter()
                .map(|&n| (g.node(n).clone(), g.inputs(n).iter().map(|i| pos[i]).collect()))
                .collect();
            (nodes, g.outputs.iter().map(|o| pos[o]).collect())
        }
        self.name == other.name && self.params == other.params && canonical(self) == canonical(other)
    }
}
