use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use canao_ir::{Executable, Graph, KernelClass, Runtime, Schedule, TensorType, Weights, check_inputs};
use canao_tensor::Tensor;

use crate::arena::Aligned;
use crate::error::{CpuError, Result};
use crate::isa::{Isa, Loops};
use crate::kernels::{self, Cx, Epilogue, Fm};
use crate::lower::lower;
use crate::plan::{Layout, Plan, Step};

/// The CPU backend: lowers a graph to fused kernels over a pre-planned arena.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuRuntime;

/// A prepared graph. Running it allocates nothing but the returned output tensors.
#[derive(Debug)]
pub struct CpuExe {
    pub(crate) plan: Plan,
    /// Graph inputs: name, IR type, value.
    inputs: Vec<(String, TensorType, usize)>,
    buffers: Vec<Aligned>,
    pub(crate) scratch: Aligned,
    cx: Cx,
    pool: Option<rayon::ThreadPool>,
}

impl Runtime for CpuRuntime {
    type Exe = CpuExe;
    type Error = CpuError;

    /// Prepares for the instruction set [`Isa::active`] picks: `CANAO_CPU_ISA` if set, else the
    /// widest this CPU runs.
    fn prepare(&self, graph: &Graph, weights: &Weights, schedule: &Schedule) -> Result<CpuExe> {
        self.prepare_isa(graph, weights, schedule, Isa::active()?)
    }
}

impl CpuRuntime {
    /// Prepares a graph whose kernels run on `isa` (an error if this CPU cannot run it).
    pub fn prepare_isa(&self, graph: &Graph, weights: &Weights, schedule: &Schedule, isa: Isa) -> Result<CpuExe> {
        let cx = Cx::new(schedule.threads, isa)?;
        graph.validate()?;
        let plan = lower(graph, weights)?;
        let mut buffers: Vec<Aligned> = plan.buffer_sizes.iter().map(|&n| Aligned::zeros(n)).collect();
        for (v, data) in &plan.constants {
            buffers[plan.buffer_of[*v]].as_mut_slice()[..data.len()].copy_from_slice(data);
        }
        let threads = cx.threads();
        let pool = if threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| CpuError::Threads {
                        threads,
                        detail: e.to_string(),
                    })?,
            )
        } else {
            None
        };
        let inputs = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Input {
                    name,
                    dtype,
                    shape,
                    out,
                } => Some((
                    name.clone(),
                    TensorType {
                        dtype: *dtype,
                        shape: shape.clone(),
                    },
                    *out,
                )),
                _ => None,
            })
            .collect();
        Ok(CpuExe {
            scratch: Aligned::zeros(plan.scratch),
            plan,
            inputs,
            buffers,
            cx,
            pool,
        })
    }
}

impl CpuExe {
    /// The instruction set this plan's kernels run on.
    pub fn isa(&self) -> Isa {
        self.cx.isa()
    }

    /// Bytes held by packed weights, by format.
    pub fn packed_bytes(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for s in &self.plan.steps {
            if let Step::Weight { w, .. } | Step::Conv { w, .. } = s {
                *m.entry(w.kind()).or_default() += w.packed_bytes();
            }
        }
        m
    }

    /// Bytes of the activation arena and scratch.
    pub fn arena_bytes(&self) -> usize {
        4 * (self.buffers.iter().map(Aligned::len).sum::<usize>() + self.scratch.len())
    }

    /// Copies a checked input into its layout.
    fn load_input(plan: &Plan, buffers: &mut [Aligned], shape: &[usize], out: usize, t: &Tensor) {
        let buf = buffers[plan.buffer_of[out]].as_mut_slice();
        match (plan.layouts[out], shape) {
            (Layout::Vec1(n), _) => buf[..n].copy_from_slice(t.data()),
            (Layout::Fm(f), [p, _]) => {
                for (pi, row) in t.data().chunks(f.rows).enumerate().take(*p) {
                    for (r, &v) in row.iter().enumerate() {
                        buf[r * f.ld + pi] = v;
                    }
                }
            }
            (Layout::Fm(f), [n, c, h, w]) => {
                let plane = h * w;
                for ni in 0..*n {
                    for ci in 0..*c {
                        let src = &t.data()[(ni * c + ci) * plane..(ni * c + ci + 1) * plane];
                        buf[ci * f.ld + ni * plane..ci * f.ld + (ni + 1) * plane].copy_from_slice(src);
                    }
                }
            }
            _ => unreachable!("layouts are only made for ranks 1, 2 and 4"),
        }
    }

    fn output(&self, i: usize) -> Result<Tensor> {
        let v = self.plan.outputs[i];
        let shape = self.plan.output_shapes[i].clone();
        let buf = self.buffers[self.plan.buffer_of[v]].as_slice();
        let data = match (self.plan.layouts[v], &shape[..]) {
            (Layout::Vec1(n), _) => buf[..n].to_vec(),
            (Layout::Fm(f), [p, _]) => (0..*p)
                .flat_map(|pi| (0..f.rows).map(move |r| buf[r * f.ld + pi]))
                .collect(),
            (Layout::Fm(f), [n, c, h, w]) => {
                let plane = h * w;
                let mut d = Vec::with_capacity(n * c * plane);
                for ni in 0..*n {
                    for ci in 0..*c {
                        d.extend_from_slice(&buf[ci * f.ld + ni * plane..ci * f.ld + (ni + 1) * plane]);
                    }
                }
                d
            }
            _ => unreachable!("layouts are only made for ranks 1, 2 and 4"),
        };
        Ok(Tensor::new(shape, data)?)
    }

    /// Runs once, timing each step, and returns each step's kernel class and wall time in plan order,
    /// then `io`: checking and loading the inputs and converting the outputs back (the entries
    /// line up with its `ReportsWork::work`). For profiles only: the timing calls add a little to each.
    pub fn profile(&mut self, inputs: &BTreeMap<String, Tensor>) -> Result<Vec<(KernelClass, Duration)>> {
        let mut times = Vec::with_capacity(self.plan.steps.len() + 1);
        self.run_timed(inputs, Some(&mut times))?;
        let labels = self.plan.steps.iter().map(Step::class).chain([KernelClass::Io]);
        Ok(labels.zip(times).collect())
    }

    /// A run; with `times`, each step's wall time is pushed, then the input and output handling.
    fn run_timed(
        &mut self,
        inputs: &BTreeMap<String, Tensor>,
        mut times: Option<&mut Vec<Duration>>,
    ) -> Result<Vec<Tensor>> {
        let start = Instant::now();
        check_inputs(self.inputs.iter().map(|(n, ty, _)| (n.as_str(), ty)), inputs)?;
        for (name, ty, out) in &self.inputs {
            Self::load_input(&self.plan, &mut self.buffers, &ty.shape, *out, &inputs[name]);
        }
        let load = start.elapsed();
        let pool = self.pool.take();
        let r = match &pool {
            Some(p) => p.install(|| self.run_steps(times.as_deref_mut())),
            None => self.run_steps(times.as_deref_mut()),
        };
        self.pool = pool;
        r?;
        let start = Instant::now();
        let outputs = (0..self.plan.outputs.len()).map(|i| self.output(i)).collect();
        if let Some(t) = times {
            t.push(load + start.elapsed());
        }
        outputs
    }

    fn run_steps(&mut self, mut times: Option<&mut Vec<Duration>>) -> Result<()> {
        for i in 0..self.plan.steps.len() {
            let start = times.is_some().then(Instant::now);
            self.run_step(i)?;
            if let (Some(t), Some(s)) = (times.as_deref_mut(), start) {
                t.push(s.elapsed());
            }
        }
        Ok(())
    }

    fn run_step(&mut self, i: usize) -> Result<()> {
        let out_buf = self.plan.buffer_of[self.plan.steps[i].writes()];
        // Move the output buffer out of the arena so inputs can be borrowed beside it; it
        // never aliases an input (the planner gives a step's output a buffer of its own).
        let mut out = std::mem::take(&mut self.buffers[out_buf]);
        let r = self.step(i, out.as_mut_slice());
        self.buffers[out_buf] = out;
        r
    }

    fn step(&mut self, i: usize, out: &mut [f32]) -> Result<()> {
        let p = &self.plan;
        let b = &self.buffers;
        let buf = |v: usize| -> &[f32] { b[p.buffer_of[v]].as_slice() };
        let fm = |v: usize| -> Fm { p.layouts[v].fm() };
        let cx = self.cx;
        match &p.steps[i] {
            Step::Input { .. } => {}
            Step::Embedding {
                node,
                table,
                dim,
                ids,
                out: o,
            } => {
                let n = fm(*ids).cols;
                kernels::embedding(&buf(*ids)[..n], table, *dim, out, fm(*o).ld).map_err(|detail| CpuError::Run {
                    node: node.clone(),
                    detail,
                })?;
            }
            Step::Weight {
                w,
                bias,
                act,
                residual,
                x,
                out: o,
            } => {
                let features = |v: usize| p.layouts[v].features();
                let ep = Epilogue {
                    bias: bias.as_deref(),
                    act: *act,
                    residual: residual.map(buf),
                    res_ld: residual.map_or(0, |r| features(r).ld),
                };
                kernels::apply_weight(
                    w,
                    buf(*x),
                    features(*x),
                    out,
                    features(*o).ld,
                    &ep,
                    self.scratch.as_mut_slice(),
                    cx,
                );
            }
            Step::Conv {
                w,
                bias,
                window,
                channels,
                x,
                out: o,
            } => {
                let of = fm(*o);
                let cols = Fm {
                    rows: w.cols(),
                    cols: of.cols,
                    ld: of.ld,
                };
                let (col, rest) = self.scratch.as_mut_slice().split_at_mut(cols.rows * cols.ld);
                kernels::im2col(buf(*x), *channels, fm(*x).ld, *window, col, cols.ld);
                let ep = Epilogue {
                    bias: bias.as_deref(),
                    ..Epilogue::none()
                };
                kernels::apply_weight(w, col, cols, out, of.ld, &ep, rest, cx);
            }
            Step::Bias { bias, x, out: _ } => {
                let f = fm(*x);
                for (r, row) in buf(*x).chunks(f.ld).enumerate().take(f.rows) {
                    for (o, &v) in out[r * f.ld..(r + 1) * f.ld].iter_mut().zip(row) {
                        *o = v + bias[r];
                    }
                }
            }
            Step::Act { act, x, .. } => {
                let n = p.layouts[*x].len();
                cx.isa().run(Loops(|| {
                    for (o, &v) in out[..n].iter_mut().zip(buf(*x)) {
                        *o = kernels::math::act(*act, v);
                    }
                }));
            }
            Step::Add { a, b: bb, .. } => {
                let n = p.layouts[*a].len();
                for ((o, &x), &y) in out[..n].iter_mut().zip(buf(*a)).zip(buf(*bb)) {
                    *o = x + y;
                }
            }
            Step::LayerNorm {
                gamma, beta, eps, x, ..
            } => {
                let scratch = self.scratch.as_mut_slice();
                cx.isa().run(Loops(|| {
                    kernels::layer_norm(buf(*x), fm(*x), gamma, beta, *eps, out, scratch)
                }));
            }
            Step::Attention {
                shape, q, k, v, mask, ..
            } => {
                let n = fm(*q).cols;
                kernels::attention(
                    buf(*q),
                    buf(*k),
                    buf(*v),
                    &buf(*mask)[..n],
                    fm(*q),
                    *shape,
                    out,
                    self.scratch.as_mut_slice(),
                    cx,
                );
            }
            Step::MaskedMean { x, mask, .. } => {
                let f = fm(*x);
                kernels::masked_mean(buf(*x), f, &buf(*mask)[..f.cols], out);
            }
            Step::L2Normalize { x, out: o } => {
                let n = p.layouts[*o].len();
                kernels::l2_normalize(&buf(*x)[..n], &mut out[..n]);
            }
            Step::Pool {
                kind,
                window,
                channels,
                x,
                out: o,
            } => {
                kernels::pool(buf(*x), *channels, fm(*x).ld, *window, *kind, out, fm(*o).ld);
            }
            Step::Flatten {
                channels,
                batch,
                plane,
                x,
                out: o,
            } => {
                kernels::flatten_nchw(buf(*x), *channels, fm(*x).ld, (*batch, *plane), out, fm(*o).ld);
            }
            Step::SpMM { adj, x, .. } => kernels::spmm(adj, buf(*x), fm(*x), out),
        }
        Ok(())
    }
}

impl Executable for CpuExe {
    type Error = CpuError;

    fn run(&mut self, inputs: &BTreeMap<String, Tensor>) -> Result<Vec<Tensor>> {
        self.run_timed(inputs, None)
    }
}
