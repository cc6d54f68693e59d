//! IR ops to ONNX nodes. canao's graphs are batch 1 with the token axis first ([seq, width]);
//! the ONNX graph gains a leading `batch` axis on every per-sentence value and takes `batch`
//! and `seq` from its inputs at run time, so no shape in it is fixed but the widths.
//!
//! Inputs: every i32 IR input becomes an int64 [batch, seq] input of the same name, except
//! `token_type_ids`, which is not an input at all: single-sentence embedding models only ever
//! see segment 0, so the type embedding is row 0 of its table (a Gather with a constant index,
//! the table itself kept as an initializer). The f32 `attention_mask` becomes an int64
//! [batch, seq] input (the usual tokenizer output) cast to float inside the graph.

use std::collections::{BTreeMap, BTreeSet};

use canao_ir::{Activation, DType, Graph, NodeId, Op, ParamValue, Sparsity, Weights};
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::{NodeProto, TensorProto, ValueInfoProto};

use crate::error::{ExportError, Result};
use crate::onnx::proto::{Attr, Dim, f32_tensor, i64_tensor, node, value_info};

/// Scores of masked keys get this added before the softmax: exp() of it underflows to exactly
/// 0 in f32, which is what canao's masked softmax gives, without the NaN risk of -inf.
const MASKED_SCORE: f32 = -1e30;
/// The same clamps canao's interpreter uses (sentence-transformers' and PyTorch's).
const MEAN_MIN_COUNT: f32 = 1e-9;
const L2_MIN_NORM: f32 = 1e-12;

/// An ONNX value standing for an IR value: its name, rank, and whether it has the batch axis
/// (the position and type embeddings do not; broadcasting adds it when they meet a batched one).
#[derive(Debug, Clone)]
struct Value {
    name: String,
    rank: usize,
    batched: bool,
}

/// The ONNX graph being assembled.
#[derive(Debug, Default)]
pub struct Lowered {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    pub inputs: Vec<ValueInfoProto>,
    pub outputs: Vec<ValueInfoProto>,
}

struct Lowering<'a> {
    graph: &'a Graph,
    weights: &'a Weights,
    out: Lowered,
    values: BTreeMap<NodeId, Value>,
    params_done: BTreeSet<String>,
    consts: BTreeSet<String>,
    /// The ONNX input whose second axis is the sequence length (for positions).
    seq_source: Option<String>,
    /// Additive key-mask bias per mask value, [batch, 1, 1, seq], shared by every layer.
    mask_bias: BTreeMap<String, String>,
    /// Arange nodes: lowered where an embedding reads them.
    positions: BTreeSet<NodeId>,
    fresh: usize,
}

/// Lowers `graph` (batch 1, tokens first) with `weights` to ONNX nodes, naming the graph
/// outputs `outputs` in order.
pub fn lower(graph: &Graph, weights: &Weights, outputs: &[&str]) -> Result<Lowered> {
    let mut l = Lowering {
        graph,
        weights,
        out: Lowered::default(),
        values: BTreeMap::new(),
        params_done: BTreeSet::new(),
        consts: BTreeSet::new(),
        seq_source: None,
        mask_bias: BTreeMap::new(),
        positions: BTreeSet::new(),
        fresh: 0,
    };
    for id in graph.topo_order() {
        let v = l.lower_node(id)?;
        l.values.insert(id, v);
    }
    for (index, &id) in graph.outputs().iter().enumerate() {
        let name = *outputs.get(index).ok_or(ExportError::OutputName { index })?;
        let v = l.values[&id].clone();
        if !v.batched {
            return Err(ExportError::Node {
                node: graph.label(id),
                detail: "a graph output must be per sentence (carry the batch axis)".into(),
            });
        }
        l.push("Identity", &[&v.name], name, &[]);
        let ir = &graph.node(id).ty.shape;
        let mut dims = vec![Dim::Symbol("batch")];
        dims.extend(ir.iter().enumerate().map(|(i, &d)| {
            if i == 0 && ir.len() >= 2 {
                Dim::Symbol("seq")
            } else {
                Dim::Fixed(d)
            }
        }));
        l.out.outputs.push(value_info(name, DataType::FLOAT, &dims));
    }
    Ok(l.out)
}

impl Lowering<'_> {
    fn node_err(&self, id: NodeId, detail: impl Into<String>) -> ExportError {
        ExportError::Node {
            node: self.graph.label(id),
            detail: detail.into(),
        }
    }

    /// Adds a node with one output, named `out`.
    fn push(&mut self, op: &str, inputs: &[&str], out: &str, attrs: &[(&str, Attr)]) {
        let name = format!("{op}_{}", self.out.nodes.len());
        self.out.nodes.push(node(op, &name, inputs, &[out], attrs));
    }

    /// Adds a node whose output gets a fresh name derived from `hint`; returns that name.
    fn op(&mut self, op: &str, inputs: &[&str], hint: &str, attrs: &[(&str, Attr)]) -> String {
        self.fresh += 1;
        let out = format!("{hint}/{}", self.fresh);
        self.push(op, inputs, &out, attrs);
        out
    }

    fn const_i64(&mut self, dims: &[usize], data: &[i64]) -> String {
        let name = format!("const_i64{dims:?}{data:?}").replace(' ', "");
        if self.consts.insert(name.clone()) {
            self.out.initializers.push(i64_tensor(&name, dims, data));
        }
        name
    }

    fn const_f32(&mut self, v: f32) -> String {
        let name = format!("const_f32({v:e})");
        if self.consts.insert(name.clone()) {
            self.out.initializers.push(f32_tensor(&name, &[], &[v]));
        }
        name
    }

    /// Declares parameter `name` as an initializer: its effective values (the stored weight
    /// projected onto its sparsity, zeros included, so any runtime loads it), transposed to
    /// [in, out] as `{name}.T` when `transpose` so that a plain MatMul applies it.
    fn param(&mut self, id: NodeId, name: &str, transpose: bool) -> Result<String> {
        // A transposed weight gets its own name: the same parameter could also be read
        // untransposed (tied embeddings), and the suffix tells a reader of the file the layout.
        let key = if transpose {
            format!("{name}.T")
        } else {
            name.to_string()
        };
        if !self.params_done.insert(key.clone()) {
            return Ok(key);
        }
        let spec = self
            .graph
            .param(name)
            .ok_or_else(|| self.node_err(id, format!("reads undeclared @{name}")))?;
        let t = match self.weights.get(name) {
            Some(ParamValue::Dense(t)) => t,
            Some(ParamValue::Csr(_)) => {
                return Err(ExportError::Weight {
                    tensor: name.into(),
                    detail: "is a CSR matrix; ONNX export takes dense weights".into(),
                });
            }
            None => {
                return Err(ExportError::Weight {
                    tensor: name.into(),
                    detail: format!("has no value bound (declared {:?})", spec.shape),
                });
            }
        };
        if t.shape() != spec.shape {
            return Err(ExportError::Weight {
                tensor: name.into(),
                detail: format!("bound with shape {:?}, declared {:?}", t.shape(), spec.shape),
            });
        }
        let mut data = t.data().to_vec();
        if !matches!(spec.sparsity, Sparsity::Dense) {
            spec.sparsity.project(&spec.matrix_shape(), &mut data);
        }
        let tensor = if transpose {
            let (n, k) = (spec.shape[0], spec.shape[1]);
            let tr: Vec<f32> = (0..k)
                .flat_map(|c| (0..n).map(move |r| (r, c)))
                .map(|(r, c)| data[r * k + c])
                .collect();
            f32_tensor(&key, &[k, n], &tr)
        } else {
            f32_tensor(&key, &spec.shape, &data)
        };
        self.out.initializers.push(tensor);
        Ok(key)
    }

    fn input(&self, id: NodeId, slot: usize) -> Value {
        self.values[&self.graph.inputs(id)[slot]].clone()
    }

    fn lower_node(&mut self, id: NodeId) -> Result<Value> {
        let n = self.graph.node(id).clone();
        if !matches!(n.op, Op::Embedding { .. }) && self.graph.inputs(id).iter().any(|i| self.positions.contains(i)) {
            return Err(self.node_err(id, "reads positions (arange), which export only as embedding ids"));
        }
        let hint = format!("{}{}", n.op.kind(), id.0);
        let batched = |name: String, rank: usize| Value {
            name,
            rank,
            batched: true,
        };
        Ok(match &n.op {
            Op::Input { name, ty } => self.graph_input(id, name, ty.dtype, &ty.shape)?,
            // Positions 0..seq only ever index the position table: that is a slice of its
            // first seq rows, which runtimes handle better than a Range over a run-time length.
            Op::Arange { .. } => {
                self.positions.insert(id);
                Value {
                    name: String::new(),
                    rank: 1,
                    batched: false,
                }
            }
            Op::Embedding { table } => {
                let from = self.graph.inputs(id)[0];
                let t = self.param(id, table, false)?;
                if self.positions.contains(&from) {
                    let src = self.seq_source.clone().ok_or_else(|| {
                        self.node_err(id, "positions need a graph input to take the sequence length from")
                    })?;
                    let shape = self.op("Shape", &[&src], "shape", &[]);
                    let at1 = self.const_i64(&[1], &[1]);
                    let seq = self.op("Gather", &[&shape, &at1], "seq", &[("axis", Attr::Int(0))]);
                    let zero = self.const_i64(&[1], &[0]);
                    Value {
                        name: self.op("Slice", &[&t, &zero, &seq, &zero], &hint, &[]),
                        rank: 2,
                        batched: false,
                    }
                } else {
                    let ids = self.input(id, 0);
                    Value {
                        name: self.op("Gather", &[&t, &ids.name], &hint, &[("axis", Attr::Int(0))]),
                        rank: ids.rank + 1,
                        batched: ids.batched,
                    }
                }
            }
            Op::Linear {
                weight,
                bias,
                act,
                residual,
            } => {
                let x = self.input(id, 0);
                let w = self.param(id, weight, true)?;
                let mut y = self.op("MatMul", &[&x.name, &w], &hint, &[]);
                if let Some(b) = bias {
                    let b = self.param(id, b, false)?;
                    y = self.op("Add", &[&y, &b], &hint, &[]);
                }
                let mut y = self.activation(*act, &y, &hint);
                if *residual {
                    let r = self.input(id, 1);
                    y = self.op("Add", &[&y, &r.name], &hint, &[]);
                }
                Value { name: y, ..x }
            }
            Op::BiasAdd { bias } => {
                let x = self.input(id, 0);
                let b = self.param(id, bias, false)?;
                Value {
                    name: self.op("Add", &[&x.name, &b], &hint, &[]),
                    ..x
                }
            }
            Op::MatMul { transpose_b, alpha } => {
                let (a, b) = (self.input(id, 0), self.input(id, 1));
                if a.rank != b.rank || a.batched != b.batched {
                    return Err(self.node_err(id, "matmul operands differ in rank or batching"));
                }
                let mut rhs = b.name.clone();
                if *transpose_b {
                    let mut perm: Vec<i64> = (0..b.rank as i64).collect();
                    perm.swap(b.rank - 2, b.rank - 1);
                    rhs = self.op("Transpose", &[&rhs], &hint, &[("perm", Attr::Ints(perm))]);
                }
                let mut y = self.op("MatMul", &[&a.name, &rhs], &hint, &[]);
                if *alpha != 1.0 {
                    let s = self.const_f32(*alpha);
                    y = self.op("Mul", &[&y, &s], &hint, &[]);
                }
                Value { name: y, ..a }
            }
            Op::Add => {
                let (a, b) = (self.input(id, 0), self.input(id, 1));
                Value {
                    name: self.op("Add", &[&a.name, &b.name], &hint, &[]),
                    rank: a.rank.max(b.rank),
                    batched: a.batched || b.batched,
                }
            }
            Op::Act(a) => {
                let x = self.input(id, 0);
                Value {
                    name: self.activation(*a, &x.name, &hint),
                    ..x
                }
            }
            Op::LayerNorm { gamma, beta, eps } => {
                let x = self.input(id, 0);
                let (g, b) = (self.param(id, gamma, false)?, self.param(id, beta, false)?);
                let attrs = [("axis", Attr::Int(-1)), ("epsilon", Attr::Float(*eps))];
                Value {
                    name: self.op("LayerNormalization", &[&x.name, &g, &b], &hint, &attrs),
                    ..x
                }
            }
            Op::Softmax => {
                let x = self.input(id, 0);
                Value {
                    name: self.op("Softmax", &[&x.name], &hint, &[("axis", Attr::Int(-1))]),
                    ..x
                }
            }
            Op::MaskedSoftmax => {
                let (s, m) = (self.input(id, 0), self.input(id, 1));
                if !(s.batched && m.batched && m.rank == 2 && s.rank >= 3) {
                    return Err(self.node_err(id, "expects batched scores [batch, .., seq] and a [batch, seq] mask"));
                }
                let bias = self.mask_bias(&m.name, s.rank);
                let masked = self.op("Add", &[&s.name, &bias], &hint, &[]);
                Value {
                    name: self.op("Softmax", &[&masked], &hint, &[("axis", Attr::Int(-1))]),
                    ..s
                }
            }
            Op::SplitHeads { heads } => {
                let x = self.input(id, 0);
                if !(x.batched && x.rank == 3) {
                    return Err(self.node_err(id, "expects a batched [batch, seq, width] value"));
                }
                let d = n.ty.shape[2] as i64;
                let shape = self.const_i64(&[4], &[0, 0, *heads as i64, d]);
                let r = self.op("Reshape", &[&x.name, &shape], &hint, &[]);
                batched(
                    self.op("Transpose", &[&r], &hint, &[("perm", Attr::Ints(vec![0, 2, 1, 3]))]),
                    4,
                )
            }
            Op::MergeHeads => {
                let x = self.input(id, 0);
                if !(x.batched && x.rank == 4) {
                    return Err(self.node_err(id, "expects a batched [batch, heads, seq, d] value"));
                }
                let t = self.op(
                    "Transpose",
                    &[&x.name],
                    &hint,
                    &[("perm", Attr::Ints(vec![0, 2, 1, 3]))],
                );
                let shape = self.const_i64(&[3], &[0, 0, n.ty.shape[1] as i64]);
                batched(self.op("Reshape", &[&t, &shape], &hint, &[]), 3)
            }
            Op::MaskedMean => {
                let (x, m) = (self.input(id, 0), self.input(id, 1));
                if !(x.batched && x.rank == 3 && m.batched && m.rank == 2) {
                    return Err(self.node_err(id, "expects [batch, seq, width] values and a [batch, seq] mask"));
                }
                let axis2 = self.const_i64(&[1], &[2]);
                let axis1 = self.const_i64(&[1], &[1]);
                let m3 = self.op("Unsqueeze", &[&m.name, &axis2], &hint, &[]);
                let weighted = self.op("Mul", &[&x.name, &m3], &hint, &[]);
                let sum = self.op("ReduceSum", &[&weighted, &axis1], &hint, &[("keepdims", Attr::Int(0))]);
                let count = self.op("ReduceSum", &[&m.name, &axis1], &hint, &[("keepdims", Attr::Int(1))]);
                let floor = self.const_f32(MEAN_MIN_COUNT);
                let count = self.op("Max", &[&count, &floor], &hint, &[]);
                batched(self.op("Div", &[&sum, &count], &hint, &[]), 2)
            }
            Op::L2Normalize => {
                let x = self.input(id, 0);
                let last = self.const_i64(&[1], &[-1]);
                let sq = self.op("Mul", &[&x.name, &x.name], &hint, &[]);
                let sum = self.op("ReduceSum", &[&sq, &last], &hint, &[("keepdims", Attr::Int(1))]);
                let norm = self.op("Sqrt", &[&sum], &hint, &[]);
                let floor = self.const_f32(L2_MIN_NORM);
                let norm = self.op("Max", &[&norm, &floor], &hint, &[]);
                Value {
                    name: self.op("Div", &[&x.name, &norm], &hint, &[]),
                    ..x
                }
            }
            // Image and graph ops: canao's IR holds them at a fixed batch of images or a fixed
            // graph, which the sequence mapping above does not describe.
            // The fused attention is a kernel backend's op; export reads the graph in the
            // standard form (`Pipeline::standard`), where attention is its plain ops.
            Op::Conv2d { .. } | Op::Pool { .. } | Op::Flatten | Op::SpMM { .. } | Op::Attention { .. } => {
                return Err(ExportError::Unmapped {
                    node: self.graph.label(id),
                    op: n.op.kind().to_string(),
                });
            }
        })
    }

    fn graph_input(&mut self, id: NodeId, name: &str, dtype: DType, shape: &[usize]) -> Result<Value> {
        let int_input = |l: &mut Self| {
            l.out.inputs.push(value_info(
                name,
                DataType::INT64,
                &[Dim::Symbol("batch"), Dim::Symbol("seq")],
            ));
            l.seq_source.get_or_insert_with(|| name.to_string());
        };
        match (dtype, name, shape.len()) {
            (DType::I32, "token_type_ids", 1) => Ok(Value {
                name: self.const_i64(&[], &[0]),
                rank: 0,
                batched: false,
            }),
            (DType::I32, _, 1) => {
                int_input(self);
                Ok(Value {
                    name: name.to_string(),
                    rank: 2,
                    batched: true,
                })
            }
            (DType::F32, "attention_mask", 1) => {
                int_input(self);
                let to_float = [("to", Attr::Int(DataType::FLOAT as i64))];
                Ok(Value {
                    name: self.op("Cast", &[name], "attention_mask_f32", &to_float),
                    rank: 2,
                    batched: true,
                })
            }
            (DType::F32, _, r) if r >= 1 => {
                let mut dims = vec![Dim::Symbol("batch"), Dim::Symbol("seq")];
                dims.extend(shape[1..].iter().map(|&d| Dim::Fixed(d)));
                self.out.inputs.push(value_info(name, DataType::FLOAT, &dims));
                Ok(Value {
                    name: name.to_string(),
                    rank: r + 1,
                    batched: true,
                })
            }
            _ => Err(self.node_err(id, format!("input `{name}` of shape {shape:?} has no ONNX mapping"))),
        }
    }

    /// (mask - 1) * 1e30, unsqueezed to broadcast over heads and queries: 0 for real keys.
    fn mask_bias(&mut self, mask: &str, scores_rank: usize) -> String {
        if let Some(b) = self.mask_bias.get(mask) {
            return b.clone();
        }
        let one = self.const_f32(1.0);
        let big = self.const_f32(-MASKED_SCORE);
        let off = self.op("Sub", &[mask, &one], "mask_bias", &[]);
        let bias = self.op("Mul", &[&off, &big], "mask_bias", &[]);
        let axes: Vec<i64> = (1..scores_rank as i64 - 1).collect();
        let axes = self.const_i64(&[axes.len()], &axes);
        let bias = self.op("Unsqueeze", &[&bias, &axes], "mask_bias", &[]);
        self.mask_bias.insert(mask.to_string(), bias.clone());
        bias
    }

    /// The exact (erf) GELU canao uses: x * 0.5 * (1 + erf(x / sqrt 2)).
    fn activation(&mut self, act: Activation, x: &str, hint: &str) -> String {
        match act {
            Activation::Identity => x.to_string(),
            Activation::Relu => self.op("Relu", &[x], hint, &[]),
            Activation::Gelu => {
                let sqrt2 = self.const_f32(std::f32::consts::SQRT_2);
                let one = self.const_f32(1.0);
                let half = self.const_f32(0.5);
                let scaled = self.op("Div", &[x, &sqrt2], hint, &[]);
                let erf = self.op("Erf", &[&scaled], hint, &[]);
                let plus = self.op("Add", &[&erf, &one], hint, &[]);
                let prod = self.op("Mul", &[x, &plus], hint, &[]);
                self.op("Mul", &[&prod, &half], hint, &[])
            }
        }
    }
}
