use serde::{Deserialize, Serialize};

use crate::builders::arch_err;
use crate::dtype::TensorType;
use crate::error::Result;
use crate::graph::{Graph, NodeId, ParamSpec};
use crate::op::{Activation, Op};
use crate::sparsity::Sparsity;

/// A two-layer GCN (Kipf and Welling 2017): logits = A relu(A X W1 + b1) W2 + b2, with A the
/// normalised adjacency (self loops included) held as a CSR parameter `adj` of `nnz` entries.
/// X W is computed before propagation, which is the cheaper order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcnArch {
    pub nodes: usize,
    pub features: usize,
    pub hidden: usize,
    pub classes: usize,
    /// Stored entries of the normalised adjacency.
    pub nnz: usize,
}

impl GcnArch {
    /// Input `features` f32[nodes, features]; output logits [nodes, classes].
    pub fn build(&self) -> Result<Graph> {
        for (f, v) in [
            ("nodes", self.nodes),
            ("features", self.features),
            ("hidden", self.hidden),
            ("classes", self.classes),
        ] {
            if v == 0 {
                return arch_err(f, "must be positive");
            }
        }
        let mut g = Graph::new("gcn2");
        let adj = g
            .add_param(
                "adj",
                ParamSpec {
                    shape: vec![self.nodes, self.nodes],
                    sparsity: Sparsity::Csr { nnz: self.nnz },
                },
            )
            .map_err(|e| crate::error::IrError::Arch {
                field: "nnz".into(),
                detail: e.to_string(),
            })?;
        let x = g.add(
            Op::Input {
                name: "features".into(),
                ty: TensorType::f32(vec![self.nodes, self.features]),
            },
            &[],
        )?;
        let h = graph_conv(&mut g, "gc1", &adj, self.features, self.hidden, x)?;
        let h = g.add(Op::Act(Activation::Relu), &[h])?;
        let out = graph_conv(&mut g, "gc2", &adj, self.hidden, self.classes, h)?;
        g.set_outputs(vec![out])?;
        Ok(g)
    }
}

fn graph_conv(g: &mut Graph, name: &str, adj: &str, input: usize, output: usize, x: NodeId) -> Result<NodeId> {
    let weight = g.add_param(format!("{name}.w"), ParamSpec::dense(vec![output, input]))?;
    let bias = g.add_param(format!("{name}.b"), ParamSpec::dense(vec![output]))?;
    let xw = g.add(
        Op::Linear {
            weight,
            bias: None,
            act: Activation::Identity,
            residual: false,
        },
        &[x],
    )?;
    let ax = g.add(Op::SpMM { adj: adj.to_string() }, &[xw])?;
    g.add(Op::BiasAdd { bias }, &[ax])
}
