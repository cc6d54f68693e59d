use std::collections::BTreeMap;

use canao_ir::{Executable, Graph, NodeId, Op, ParamValue, Runtime, Schedule, Weights, check_inputs};
use canao_tensor::Tensor;

use crate::error::{InterpError, Result};
use crate::kernels;

/// The reference backend. `Schedule` knobs are ignored: it always runs one plain loop nest.
#[derive(Debug, Clone, Copy, Default)]
pub struct Interpreter;

/// A graph ready to interpret, with its weights projected onto their sparsity structures.
#[derive(Debug, Clone)]
pub struct InterpreterExe {
    graph: Graph,
    weights: Weights,
    order: Vec<NodeId>,
}

impl Runtime for Interpreter {
    type Exe = InterpreterExe;
    type Error = InterpError;

    fn prepare(&self, graph: &Graph, weights: &Weights, _schedule: &Schedule) -> Result<InterpreterExe> {
        graph.validate()?;
        weights.check_against(graph)?;
        let mut projected = weights.clone();
        for (name, spec) in graph.params() {
            if let (false, Some(ParamValue::Dense(t))) = (spec.sparsity.is_dense(), weights.get(name)) {
                let mut t = t.clone();
                spec.sparsity.project(&spec.matrix_shape(), t.data_mut());
                projected.insert_dense(name.clone(), t);
            }
        }
        Ok(InterpreterExe {
            graph: graph.clone(),
            weights: projected,
            order: graph.topo_order(),
        })
    }
}

impl InterpreterExe {
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    fn check_inputs(&self, inputs: &BTreeMap<String, Tensor>) -> Result<()> {
        let declared = self.graph.inputs_of_graph();
        Ok(check_inputs(
            declared.iter().map(|(n, _, ty)| (n.as_str(), ty)),
            inputs,
        )?)
    }

    /// Evaluates one node from its input values.
    fn eval(&self, id: NodeId, args: &[&Tensor], inputs: &BTreeMap<String, Tensor>) -> Result<Tensor> {
        let node = self.graph.node(id);
        let fail = |detail: String| InterpError::Node {
            node: self.graph.label(id),
            detail,
        };
        let w = |name: &str| self.weights.dense(name).map_err(InterpError::from);
        let out_shape = node.ty.shape.clone();
        let t = match &node.op {
            Op::Input { name, .. } => inputs[name].clone(),
            Op::Arange { len } => Tensor::new(out_shape, (0..*len).map(|i| i as f32).collect())?,
            Op::Embedding { table } => kernels::embedding(args[0], w(table)?).map_err(fail)?,
            Op::Linear {
                weight,
                bias,
                act,
                residual,
            } => {
                let b = bias.as_deref().map(w).transpose()?;
                let y = kernels::linear(args[0], w(weight)?, b, *act, out_shape);
                if *residual { kernels::add(&y, args[1]) } else { y }
            }
            Op::BiasAdd { bias } => kernels::bias_add(args[0], w(bias)?),
            Op::MatMul { transpose_b, alpha } => kernels::matmul(args[0], args[1], *transpose_b, *alpha, out_shape),
            Op::Add => kernels::add(args[0], args[1]),
            Op::Act(a) => kernels::activate(args[0], *a),
            Op::LayerNorm { gamma, beta, eps } => kernels::layer_norm(args[0], w(gamma)?, w(beta)?, *eps),
            Op::Softmax => kernels::softmax(args[0], None),
            Op::MaskedSoftmax => kernels::softmax(args[0], Some(args[1])),
            Op::SplitHeads { heads } => kernels::split_heads(args[0], *heads, out_shape),
            Op::MergeHeads => kernels::merge_heads(args[0], out_shape),
            Op::Attention {
                heads,
                alpha,
                out_alpha,
                ..
            } => kernels::attention(args, *heads, *alpha, *out_alpha, out_shape),
            Op::MaskedMean => kernels::masked_mean(args[0], args[1], out_shape),
            Op::L2Normalize => kernels::l2_normalize(args[0]),
            Op::Conv2d {
                weight,
                bias,
                stride,
                padding,
            } => {
                let b = bias.as_deref().map(w).transpose()?;
                kernels::conv2d(args[0], w(weight)?, b, *stride, *padding, out_shape)
            }
            Op::Pool { kind, size, stride } => kernels::pool(args[0], *kind, *size, *stride, out_shape),
            Op::Flatten => args[0].clone().reshape(out_shape)?,
            Op::SpMM { adj } => match self.weights.get(adj) {
                Some(ParamValue::Csr(a)) => kernels::spmm(a, args[0], out_shape),
                _ => return Err(fail(format!("@{adj} is not bound to a CSR matrix"))),
            },
        };
        if t.shape() != node.ty.shape {
            return Err(fail(format!("produced shape {:?}, expected {}", t.shape(), node.ty)));
        }
        Ok(t)
    }
}

impl Executable for InterpreterExe {
    type Error = InterpError;

    fn run(&mut self, inputs: &BTreeMap<String, Tensor>) -> Result<Vec<Tensor>> {
        self.check_inputs(inputs)?;
        // Free each value after its last reader so a 6-layer model does not keep every
        // intermediate alive.
        let mut remaining: BTreeMap<NodeId, usize> = BTreeMap::new();
        for &n in &self.order {
            for i in self.graph.inputs(n) {
                *remaining.entry(i).or_default() += 1;
            }
        }
        let mut values: BTreeMap<NodeId, Tensor> = BTreeMap::new();
        for &id in &self.order {
            let ins = self.graph.inputs(id);
            let args: Vec<&Tensor> = ins.iter().map(|i| &values[i]).collect();
            let t = self.eval(id, &args, inputs)?;
            for i in ins {
                let r = remaining.get_mut(&i).expect("every read was counted");
                *r -= 1;
                if *r == 0 && !self.graph.outputs().contains(&i) {
                    values.remove(&i);
                }
            }
            values.insert(id, t);
        }
        Ok(self.graph.outputs().iter().map(|o| values[o].clone()).collect())
    }
}
