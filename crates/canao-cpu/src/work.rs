//! What each step of a plan does, in the IR's work schema (`canao_ir::Work`). The counts come
//! from the plan itself (fusions made, formats packed), so a model fitted on them predicts the
//! code this backend really runs.

use canao_ir::{Activation, KernelClass, ReportsWork, StepWork, StripHeight, WeightFormat, Work};

use crate::exec::CpuExe;
use crate::kernels::tile_passes;
use crate::pack::{PackedWeight, STRIP_HEIGHTS};
use crate::plan::{Plan, Step};

const TOKEN_TILE: usize = 16;

fn weight_work(w: &PackedWeight, tokens: usize, f: &mut Work) {
    let m = tokens as f64;
    let tiles = tokens.div_ceil(TOKEN_TILE) as f64;
    let (n, k) = (w.rows() as f64, w.cols() as f64);
    f.weight_bytes += w.packed_bytes() as f64;
    f.act_bytes += 4.0 * m * (n + k);
    match w {
        PackedWeight::Dense { .. } => f.macs += n * k * m,
        PackedWeight::Block(b) => {
            for s in &b.strips {
                let width: u32 = b.cols[s.blocks.0..s.blocks.1].iter().map(|&(_, cw)| cw).sum();
                let macs = f64::from(width) * s.rows as f64 * m;
                match STRIP_HEIGHTS.iter().position(|&h| h == s.rows) {
                    Some(0) => f.macs += macs,
                    Some(1) => f.macs_h4 += macs,
                    _ => f.macs_h1 += macs,
                }
                f.runs += (s.blocks.1 - s.blocks.0) as f64 * tiles;
            }
        }
        PackedWeight::Unstructured(u) => {
            f.macs_h1 += u.nnz() as f64 * m;
            f.runs += (u.segment_count() * tile_passes(crate::padded(tokens))) as f64;
        }
        PackedWeight::Pattern(p) => {
            f.macs += p.vals.len() as f64 * m;
            f.runs += p.piece_runs() as f64 * tiles;
        }
        PackedWeight::Circulant(c) => {
            let (p, q) = c.grid();
            let bins = c.bins() as f64;
            // Forward DFT of q pieces, 2p x 2q mixing per bin, inverse DFT of p pieces.
            f.macs += m * bins * (2.0 * (q * c.b) as f64 + 4.0 * (p * q) as f64 + 2.0 * (p * c.b) as f64);
            f.runs += bins * tiles;
        }
    }
}

/// The strip height most of a block row of `r` rows runs at.
fn strip_class(r: usize) -> StripHeight {
    let h = *STRIP_HEIGHTS.iter().find(|&&h| h <= r).expect("height 1 always fits");
    StripHeight::ALL
        .into_iter()
        .find(|s| s.rows() == h)
        .expect("every strip height has a class")
}

fn format(w: &PackedWeight) -> WeightFormat {
    match w {
        PackedWeight::Dense { .. } => WeightFormat::Dense,
        PackedWeight::Block(_) | PackedWeight::Unstructured(_) => WeightFormat::Block(None),
        PackedWeight::Pattern(_) => WeightFormat::Pattern,
        PackedWeight::Circulant(_) => WeightFormat::Circulant,
    }
}

impl Step {
    /// The kernel class a latency profile keys this step's coefficients by.
    pub fn class(&self) -> KernelClass {
        match self {
            // Strip height decides how often a loaded token vector is reused, and so the
            // kernel's whole cost structure: each height is its own class.
            Step::Weight {
                w: PackedWeight::Block(b),
                ..
            } => KernelClass::Linear(WeightFormat::Block(Some(strip_class(b.block[0])))),
            // One-row blocks run the unstructured kernel. Its class keeps the name of the
            // one-row strips it replaced (profiles and their CSVs use it); blocks 2 or 3 rows
            // high still run as such strips and share it, but no search space or calibration
            // set has them.
            Step::Weight {
                w: PackedWeight::Unstructured(_),
                ..
            } => KernelClass::Linear(WeightFormat::Block(Some(StripHeight::H1))),
            Step::Weight { w, .. } => KernelClass::Linear(format(w)),
            Step::Conv { w, .. } => KernelClass::Conv(format(w)),
            Step::Input { .. } => KernelClass::Input,
            Step::Embedding { .. } => KernelClass::Embedding,
            Step::Bias { .. } => KernelClass::Bias,
            Step::Act { .. } => KernelClass::Activation,
            Step::Add { .. } => KernelClass::Add,
            Step::LayerNorm { .. } => KernelClass::LayerNorm,
            Step::Attention { .. } => KernelClass::Attention,
            Step::MaskedMean { .. } => KernelClass::MaskedMean,
            Step::L2Normalize { .. } => KernelClass::L2Normalize,
            Step::Pool { .. } => KernelClass::Pool,
            Step::Flatten { .. } => KernelClass::Flatten,
            Step::SpMM { .. } => KernelClass::SpMM,
        }
    }
}

impl Plan {
    /// The work of every step, in plan order (the order [`CpuExe::profile`] times them), then
    /// one `io` entry for what a run does outside the steps: checking and loading the inputs
    /// into their layouts and converting the outputs back.
    pub fn work(&self) -> Vec<StepWork> {
        let mut work: Vec<StepWork> = self.steps.iter().map(|s| self.step_work(s)).collect();
        let io: f64 = self
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Input { .. }))
            .map(|s| s.writes())
            .chain(self.outputs.iter().copied())
            .map(|v| self.layouts[v].len() as f64)
            .sum();
        work.push(StepWork {
            class: KernelClass::Io,
            work: Work {
                elements: io,
                act_bytes: 4.0 * io,
                ..Work::call()
            },
        });
        work
    }

    fn step_work(&self, step: &Step) -> StepWork {
        let tokens = |v: usize| self.layouts[v].fm().cols;
        let len = |v: usize| self.layouts[v].len() as f64;
        let out = len(step.writes());
        let mut f = Work {
            elements: out,
            act_bytes: 4.0 * (out + step.reads().iter().map(|&v| len(v)).sum::<f64>()),
            ..Work::call()
        };
        match step {
            Step::Weight {
                w, act, residual, x, ..
            } => {
                f.act_bytes = 0.0;
                weight_work(w, tokens(*x), &mut f);
                if residual.is_some() {
                    f.act_bytes += 4.0 * out;
                }
                if *act == Activation::Gelu {
                    f.transcendentals = out;
                }
            }
            Step::Conv { w, out: o, .. } => {
                f.act_bytes = 0.0;
                weight_work(w, tokens(*o), &mut f);
                // im2col writes the unfolded columns first.
                f.elements += (w.cols() * tokens(*o)) as f64;
            }
            Step::Act { act, .. } if *act == Activation::Gelu => f.transcendentals = out,
            Step::Attention { shape, q, .. } => {
                let m = tokens(*q) as f64;
                let heads = shape.heads as f64;
                f.macs = 2.0 * heads * m * m * shape.head_dim as f64;
                f.elements += heads * m * m;
                f.transcendentals = heads * m * m;
            }
            Step::SpMM { adj, x, .. } => f.macs = (adj.nnz() * self.layouts[*x].fm().rows) as f64,
            _ => {}
        }
        StepWork {
            class: step.class(),
            work: f,
        }
    }
}

impl ReportsWork for CpuExe {
    fn work(&self) -> Vec<StepWork> {
        self.plan.work()
    }
}
