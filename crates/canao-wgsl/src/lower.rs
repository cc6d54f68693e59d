//! Lowering: an IR graph, after the kernel pipeline (epilogue, residual and attention fusion as
//! IR rewrites, see `canao_ir::pass`), becomes a plan of WGSL kernels over numbered values, one
//! buffer each, in the IR's own row-major layout. Most ops map to one kernel. A block-circulant
//! layer becomes three kernels through the frequency domain, with spectra as values of their
//! own. An attention op becomes one kernel whose scores stay in workgroup memory when they fit
//! there, else the scores, softmax and context kernels; with heads, between a split and a merge
//! kernel.

use std::collections::BTreeMap;

use canao_ir::pass::Pipeline;
use canao_ir::{Graph, NodeId, Op, ParamValue, Sparsity, TensorType, Weights};

use crate::emit::attention::{self, AttentionShape};
use crate::emit::block::{self, BlockLayout};
use crate::emit::circulant::{self, CirculantLayout};
use crate::emit::conv::{self, Window};
use crate::emit::epilogue::Epilogue;
use crate::emit::matmul::{self, MatMulShape};
use crate::emit::pattern::{self, PatternLayout};
use crate::emit::{Kernel, LinearShape, MAX_GROUPS, dense, elementwise, norm, softmax, spmm};
use crate::error::{Result, WgslError};

/// Data uploaded once, at prepare time.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    U32(Vec<u32>),
}

/// What a kernel binding is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A value of the plan (an activation).
    Value(usize),
    /// Prepared parameter data, by index into [`Plan::params`].
    Param(usize),
}

/// One kernel dispatch: `args` line up with the kernel's bindings; the last is its output.
#[derive(Debug, Clone)]
pub struct Step {
    /// The IR node it computes, as `%12 (linear)`.
    pub node: String,
    pub kernel: Kernel,
    pub args: Vec<Arg>,
}

/// Ids fed to an embedding straight from a graph input, checked on the host before they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCheck {
    pub input: String,
    pub vocab: usize,
    pub node: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// Elements of each value: the IR values, and the intermediates of layers that run as
    /// several kernels.
    pub values: Vec<usize>,
    pub params: Vec<Data>,
    /// Values with content fixed at prepare time (position ids).
    pub constants: Vec<(usize, Vec<f32>)>,
    /// Graph inputs: name, type, value.
    pub inputs: Vec<(String, TensorType, usize)>,
    pub id_checks: Vec<IdCheck>,
    pub steps: Vec<Step>,
    /// Output values and their IR shapes, in the graph's output order.
    pub outputs: Vec<(usize, Vec<usize>)>,
}

fn unsupported(g: &Graph, id: NodeId, detail: &str) -> WgslError {
    WgslError::Unsupported {
        node: g.label(id),
        detail: detail.into(),
    }
}

struct Lowering<'a> {
    g: Graph,
    weights: &'a Weights,
    plan: Plan,
    vals: BTreeMap<NodeId, usize>,
}

impl Lowering<'_> {
    fn param(&mut self, data: Data) -> Arg {
        self.plan.params.push(data);
        Arg::Param(self.plan.params.len() - 1)
    }

    fn dense(&mut self, name: &str) -> Result<Arg> {
        Ok(self.param(Data::F32(self.weights.dense(name)?.data().to_vec())))
    }

    fn shape(&self, id: NodeId) -> &[usize] {
        &self.g.node(id).ty.shape
    }

    /// A new value of `elements` floats for node `id`: its output, or an intermediate only its
    /// kernels use. Kernels index with u32; every flat index must fit.
    fn value(&mut self, id: NodeId, elements: usize) -> Result<usize> {
        if u32::try_from(elements).is_err() {
            return Err(WgslError::TooLarge {
                node: self.g.label(id),
                detail: format!("{elements} elements exceed u32 indexing"),
            });
        }
        self.plan.values.push(elements);
        Ok(self.plan.values.len() - 1)
    }

    /// Appends a dispatch of `kernel` for node `id`, `args` including its output.
    fn step(&mut self, id: NodeId, kernel: Kernel, args: Vec<Arg>) -> Result<()> {
        if kernel.workgroups.iter().any(|&w| w > MAX_GROUPS) {
            return Err(WgslError::TooLarge {
                node: self.g.label(id),
                detail: format!(
                    "{} needs {:?} workgroups, over the {MAX_GROUPS} a dimension allows",
                    kernel.name, kernel.workgroups
                ),
            });
        }
        self.plan.steps.push(Step {
            node: self.g.label(id),
            kernel,
            args,
        });
        Ok(())
    }

    /// The kernel of linear node `lin`, with `residual` added in its epilogue.
    fn linear(&mut self, lin: NodeId, residual: Option<NodeId>) -> Result<(Kernel, Vec<Arg>)> {
        let Op::Linear { weight, bias, act, .. } = self.g.node(lin).op.clone() else {
            unreachable!("called on linear nodes only")
        };
        let x = self.g.inputs(lin)[0];
        let spec = self.g.param(&weight).expect("validated graph").clone();
        let [n, k] = spec.shape[..] else {
            return Err(unsupported(&self.g, lin, "linear weights are 2-D"));
        };
        let shape = LinearShape {
            tokens: self.g.node(x).ty.elements() / k,
            input: k,
            output: n,
        };
        let ep = Epilogue {
            bias: bias.is_some(),
            act,
            residual: residual.is_some(),
        };
        let w = self.weights.dense(&weight)?.data();
        let mut input = Arg::Value(self.vals[&x]);
        let (kernel, data) = match &spec.sparsity {
            Sparsity::Dense => (dense::emit(shape, &ep), w.to_vec()),
            // Through the frequency domain: the forward DFT and the per-bin mixing run here, into
            // spectra only this layer uses; the inverse DFT and epilogue is the layer's kernel,
            // reading the output spectra where the others read x.
            Sparsity::Circulant { block } => {
                let layout = CirculantLayout::new([n, k], *block, w);
                let xs = Arg::Value(self.value(lin, layout.input_spectra_len(shape.tokens))?);
                let ys = Arg::Value(self.value(lin, layout.output_spectra_len(shape.tokens))?);
                let CirculantLayout { dft, idft, spectra, .. } = layout;
                let dft = self.param(Data::F32(dft));
                self.step(lin, circulant::forward(shape, *block), vec![input, dft, xs])?;
                let spectra = self.param(Data::F32(spectra));
                self.step(lin, circulant::mix(shape, *block), vec![xs, spectra, ys])?;
                input = ys;
                (circulant::inverse(shape, *block, &ep), idft)
            }
            Sparsity::Block { block, mask } => {
                let layout = BlockLayout::new([n, k], *block, mask);
                (block::emit(shape, &layout, &ep), layout.pack([n, k], w))
            }
            Sparsity::Pattern {
                block,
                patterns,
                assign,
            } => {
                let layout = PatternLayout::new(*block, patterns, assign);
                (pattern::emit(shape, &layout, &ep), w.to_vec())
            }
            Sparsity::Csr { .. } => return Err(unsupported(&self.g, lin, "a CSR weight in a linear layer")),
        };
        let mut args = vec![input, self.param(Data::F32(data))];
        if let Some(t) = &kernel.tables {
            args.push(self.param(Data::U32(t.clone())));
        }
        if let Some(b) = &bias {
            args.push(self.dense(b)?);
        }
        if let Some(r) = residual {
            args.push(Arg::Value(self.vals[&r]));
        }
        Ok((kernel, args))
    }

    /// The kernels of attention node `id` but the last, which it returns with its inputs.
    fn attention(&mut self, id: NodeId, heads: Option<usize>, shape: AttentionShape) -> Result<(Kernel, Vec<Arg>)> {
        let ins = self.g.inputs(id);
        let mut args: Vec<Arg> = ins.iter().map(|i| Arg::Value(self.vals[i])).collect();
        let Some(h) = heads else {
            return self.attention_core(id, shape, args);
        };
        for (arg, i) in args.iter_mut().zip(&ins).take(3) {
            let [seq, width] = self.shape(*i)[..] else {
                unreachable!("checked by the IR")
            };
            let split = Arg::Value(self.value(id, seq * width)?);
            self.step(id, elementwise::split_heads(seq, h, width / h), vec![*arg, split])?;
            *arg = split;
        }
        let (kernel, core_args) = self.attention_core(id, shape, args)?;
        let ctx = Arg::Value(self.value(id, shape.heads * shape.queries * shape.value_dim)?);
        self.step(id, kernel, core_args.into_iter().chain([ctx]).collect())?;
        Ok((elementwise::merge_heads(shape.queries, h, shape.value_dim), vec![ctx]))
    }

    /// Attention over per-head q, k, v (, mask) in `args`: one kernel when a query row's scores
    /// fit in workgroup memory, else scores and softmax as kernels of their own before the
    /// returned context product.
    fn attention_core(&mut self, id: NodeId, s: AttentionShape, args: Vec<Arg>) -> Result<(Kernel, Vec<Arg>)> {
        if s.fits() {
            return Ok((attention::emit(&s), args));
        }
        let (rows, batch) = (s.heads * s.queries, s.heads);
        let scores = Arg::Value(self.value(id, rows * s.keys)?);
        let product = |m, k, n, transpose_b, alpha| MatMulShape {
            batch,
            m,
            k,
            n,
            transpose_b,
            alpha,
        };
        let qk = matmul::emit(product(s.queries, s.dim, s.keys, true, s.alpha));
        self.step(id, qk, vec![args[0], args[1], scores])?;
        let probs = Arg::Value(self.value(id, rows * s.keys)?);
        let mut softmax_args = vec![scores];
        softmax_args.extend(args.get(3));
        softmax_args.push(probs);
        self.step(id, softmax::emit(rows, s.keys, s.masked), softmax_args)?;
        let pv = matmul::emit(product(s.queries, s.keys, s.value_dim, false, s.out_alpha));
        Ok((pv, vec![probs, args[2]]))
    }

    /// The kernel shape of attention node `id`, per head.
    fn attention_shape(
        &self,
        id: NodeId,
        heads: Option<usize>,
        alpha: f32,
        out_alpha: f32,
        masked: bool,
    ) -> AttentionShape {
        let ins = self.g.inputs(id);
        let (q, k, v) = (self.shape(ins[0]), self.shape(ins[1]), self.shape(ins[2]));
        let r = q.len() - 2;
        let split = heads.unwrap_or(1);
        AttentionShape {
            heads: heads.unwrap_or(q[..r].iter().product()),
            queries: q[r],
            keys: k[r],
            dim: q[r + 1] / split,
            value_dim: v[r + 1] / split,
            alpha,
            out_alpha,
            masked,
        }
    }

    /// The kernel and input arguments of node `id` (the output argument is added by the caller);
    /// None for nodes that need no kernel.
    fn node(&mut self, id: NodeId) -> Result<Option<(Kernel, Vec<Arg>)>> {
        let ins = self.g.inputs(id);
        let v: Vec<Arg> = ins.iter().map(|i| Arg::Value(self.vals[i])).collect();
        let out_len = self.g.node(id).ty.elements();
        let last = |s: &[usize]| *s.last().expect("rank >= 1");
        let op = self.g.node(id).op.clone();
        let kernel = match &op {
            Op::Input { name, ty } => {
                self.plan.inputs.push((name.clone(), ty.clone(), self.vals[&id]));
                return Ok(None);
            }
            Op::Arange { len } => {
                self.plan
                    .constants
                    .push((self.vals[&id], (0..*len).map(|i| i as f32).collect()));
                return Ok(None);
            }
            Op::Embedding { table } => {
                let vocab = self.shape_of_param(table)[0];
                self.check_ids(id, ins[0], vocab)?;
                let d = last(self.shape(id));
                let t = self.dense(table)?;
                return Ok(Some((elementwise::embedding(out_len / d, d), vec![v[0], t])));
            }
            Op::Linear { residual, .. } => return self.linear(id, residual.then(|| ins[1])).map(Some),
            Op::Attention {
                heads,
                alpha,
                out_alpha,
                masked,
            } => {
                let shape = self.attention_shape(id, *heads, *alpha, *out_alpha, *masked);
                return self.attention(id, *heads, shape).map(Some);
            }
            Op::Add => elementwise::add(out_len),
            Op::BiasAdd { bias } => {
                let b = self.dense(bias)?;
                return Ok(Some((elementwise::bias(out_len, last(self.shape(id))), vec![v[0], b])));
            }
            Op::Act(a) => elementwise::activation(out_len, *a),
            Op::LayerNorm { gamma, beta, eps } => {
                let d = last(self.shape(id));
                let (gm, bt) = (self.dense(gamma)?, self.dense(beta)?);
                return Ok(Some((norm::layer_norm(out_len / d, d, *eps), vec![v[0], gm, bt])));
            }
            Op::L2Normalize => {
                let d = last(self.shape(id));
                norm::l2_normalize(out_len / d, d)
            }
            Op::Softmax | Op::MaskedSoftmax => {
                let l = last(self.shape(id));
                softmax::emit(out_len / l, l, matches!(op, Op::MaskedSoftmax))
            }
            Op::MatMul { transpose_b, alpha } => {
                let (a, b) = (self.shape(ins[0]).to_vec(), self.shape(ins[1]));
                let k = last(&a);
                let n = if *transpose_b { b[b.len() - 2] } else { last(b) };
                let m = a[a.len() - 2];
                matmul::emit(MatMulShape {
                    batch: out_len / (m * n),
                    m,
                    k,
                    n,
                    transpose_b: *transpose_b,
                    alpha: *alpha,
                })
            }
            Op::SplitHeads { heads } => {
                let s = self.shape(id);
                elementwise::split_heads(s[1], *heads, s[2])
            }
            Op::MergeHeads => {
                let s = self.shape(ins[0]);
                elementwise::merge_heads(s[1], s[0], s[2])
            }
            Op::MaskedMean => {
                let s = self.shape(ins[0]);
                elementwise::masked_mean(s[0], s[1])
            }
            Op::SpMM { adj } => {
                let Some(ParamValue::Csr(a)) = self.weights.get(adj) else {
                    return Err(unsupported(&self.g, id, "adjacency is not bound to a CSR matrix"));
                };
                let mut indptr = vec![0u32];
                let (mut indices, mut values) = (Vec::new(), Vec::new());
                for r in 0..a.rows() {
                    let (c, val) = a.row(r);
                    // Sizes fit u32: checked for every value below, and nnz <= rows * cols.
                    indices.extend(c.iter().map(|&c| c as u32));
                    values.extend_from_slice(val);
                    indptr.push(indices.len() as u32);
                }
                let args = vec![
                    self.param(Data::U32(indptr)),
                    self.param(Data::U32(indices)),
                    self.param(Data::F32(values)),
                    v[0],
                ];
                return Ok(Some((spmm::emit(a.rows(), last(self.shape(id)), a.nnz()), args)));
            }
            Op::Conv2d {
                weight,
                bias,
                stride,
                padding,
            } => {
                let spec = self.g.param(weight).expect("validated graph").clone();
                let size = [spec.shape[2], spec.shape[3]];
                let window = Window::new(self.shape(ins[0]), self.shape(id), size, *stride, *padding);
                let w = self.weights.dense(weight)?.data();
                let (kernel, data) = conv::conv2d(window, &spec.sparsity, w, bias.is_some());
                let mut args = vec![v[0], self.param(Data::F32(data))];
                if let Some(t) = &kernel.tables {
                    args.push(self.param(Data::U32(t.clone())));
                }
                if let Some(b) = bias {
                    args.push(self.dense(b)?);
                }
                return Ok(Some((kernel, args)));
            }
            Op::Pool { kind, size, stride } => conv::pool(
                Window::new(self.shape(ins[0]), self.shape(id), [*size; 2], *stride, 0),
                *kind,
            ),
            Op::Flatten => elementwise::copy(out_len),
        };
        Ok(Some((kernel, v)))
    }

    fn shape_of_param(&self, name: &str) -> Vec<usize> {
        self.g.param(name).expect("validated graph").shape.clone()
    }

    /// Ids from a graph input are checked per run; position ids now.
    fn check_ids(&mut self, id: NodeId, ids: NodeId, vocab: usize) -> Result<()> {
        match &self.g.node(ids).op {
            Op::Input { name, .. } => {
                self.plan.id_checks.push(IdCheck {
                    input: name.clone(),
                    vocab,
                    node: self.g.label(id),
                });
                Ok(())
            }
            Op::Arange { len } if *len <= vocab => Ok(()),
            Op::Arange { len } => Err(WgslError::Ids {
                node: self.g.label(id),
                detail: format!("positions 0..{len} exceed the table of {vocab} rows"),
            }),
            _ => Err(unsupported(&self.g, id, "ids must come from a graph input or arange")),
        }
    }
}

/// Builds the plan for `graph` with `weights`.
pub fn lower(graph: &Graph, weights: &Weights) -> Result<Plan> {
    graph.validate()?;
    weights.check_against(graph)?;
    let mut g = graph.clone();
    Pipeline::kernels().run(&mut g)?;
    let mut l = Lowering {
        g,
        weights,
        plan: Plan {
            values: Vec::new(),
            params: Vec::new(),
            constants: Vec::new(),
            inputs: Vec::new(),
            id_checks: Vec::new(),
            steps: Vec::new(),
            outputs: Vec::new(),
        },
        vals: BTreeMap::new(),
    };
    for id in l.g.topo_order() {
        let v = l.value(id, l.g.node(id).ty.elements())?;
        l.vals.insert(id, v);
        if let Some((kernel, mut args)) = l.node(id)? {
            args.push(Arg::Value(v));
            l.step(id, kernel, args)?;
        }
    }
    l.plan.outputs =
        l.g.outputs()
            .iter()
            .map(|o| (l.vals[o], l.g.node(*o).ty.shape.clone()))
            .collect();
    Ok(l.plan)
}
