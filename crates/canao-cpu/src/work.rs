//! What each step of a plan does, counted in the units a latency model can be linear in. The
//! counts come from the plan itself (fusions made, formats packed), so a model fitted on them
//! predicts the code this backend really runs.

use canao_ir::Activation;

use crate::kernels::tile_passes;
use crate::pack::{PackedWeight, STRIP_HEIGHTS};
use crate::plan::{Plan, Step};

/// Names of the work features, in the order of [`Features`].
pub const FEATURES: [&str; 9] = [
    "calls",
    "macs",
    "macs_h4",
    "macs_h1",
    "elements",
    "transcendentals",
    "weight_bytes",
    "act_bytes",
    "runs",
];

/// Counts per feature (see [`FEATURES`]):
/// - `calls`: 1 per step (fixed overhead);
/// - `macs`: multiply-accumulates in full-height register tiles (dense GEMM, block strips of 8
///   rows, attention, pattern and circulant products); `macs_h4` / `macs_h1`: those of block
///   strips 4 and 1 rows high and of the unstructured kernel (one-row blocks), which reuse each
///   loaded token vector less;
/// - `elements`: values written by element-wise work (epilogues, norms, softmax, copies);
/// - `transcendentals`: exp / erf evaluations (GELU, softmax);
/// - `weight_bytes`: packed weight bytes streamed; `act_bytes`: activation bytes read and written;
/// - `runs`: loop set-ups of sparse formats: column runs per strip and block groups per row
///   times token tiles of 16, and row segments per chunk times the unstructured kernel's tile
///   passes.
pub type Features = [f64; 9];

/// How features split between frequency (compute) and memory bandwidth.
pub const MEMORY_BOUND: [bool; 9] = [false, false, false, false, false, false, true, true, false];

/// One step's kernel class (its profile label, such as `linear/block`) and work.
#[derive(Debug, Clone, PartialEq)]
pub struct StepWork {
    pub class: String,
    pub features: Features,
}

const TOKEN_TILE: usize = 16;

fn weight_work(w: &PackedWeight, tokens: usize, f: &mut Features) {
    let m = tokens as f64;
    let tiles = tokens.div_ceil(TOKEN_TILE) as f64;
    let (n, k) = (w.rows() as f64, w.cols() as f64);
    f[6] += w.packed_bytes() as f64;
    f[7] += 4.0 * m * (n + k);
    match w {
        PackedWeight::Dense { .. } => f[1] += n * k * m,
        PackedWeight::Block(b) => {
            for s in &b.strips {
                let width: u32 = b.cols[s.blocks.0..s.blocks.1].iter().map(|&(_, cw)| cw).sum();
                let macs = f64::from(width) * s.rows as f64 * m;
                match STRIP_HEIGHTS.iter().position(|&h| h == s.rows) {
                    Some(0) => f[1] += macs,
                    Some(1) => f[2] += macs,
                    _ => f[3] += macs,
                }
                f[8] += (s.blocks.1 - s.blocks.0) as f64 * tiles;
            }
        }
        PackedWeight::Unstructured(u) => {
            f[3] += u.nnz() as f64 * m;
            f[8] += (u.segment_count() * tile_passes(crate::padded(tokens))) as f64;
        }
        PackedWeight::Pattern(p) => {
            f[1] += p.vals.len() as f64 * m;
            let groups: usize = p.groups.iter().map(Vec::len).sum();
            f[8] += (groups * p.block[0]) as f64 * tiles;
        }
        PackedWeight::Circulant(c) => {
            let (p, q) = c.grid();
            let bins = c.bins() as f64;
            // Forward DFT of q pieces, 2p x 2q mixing per bin, inverse DFT of p pieces.
            f[1] += m * bins * (2.0 * (q * c.b) as f64 + 4.0 * (p * q) as f64 + 2.0 * (p * c.b) as f64);
            f[8] += bins * tiles;
        }
    }
}

/// The strip height most of a block row of `r` rows runs at.
fn strip_class(r: usize) -> usize {
    *STRIP_HEIGHTS.iter().find(|&&h| h <= r).expect("height 1 always fits")
}

impl Plan {
    /// The work of every step, in plan order (the order [`crate::CpuExe::profile`] times them),
    /// then one `io` entry for what a run does outside the steps: checking and loading the
    /// inputs into their layouts and converting the outputs back.
    pub fn work(&self) -> Vec<StepWork> {
        let mut work = self.step_work();
        let io: f64 = self
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Input { .. }))
            .map(|s| s.writes())
            .chain(self.outputs.iter().copied())
            .map(|v| self.layouts[v].len() as f64)
            .sum();
        let mut f: Features = [0.0; 9];
        (f[0], f[4], f[7]) = (1.0, io, 4.0 * io);
        work.push(StepWork {
            class: "io".into(),
            features: f,
        });
        work
    }

    fn step_work(&self) -> Vec<StepWork> {
        let tokens = |v: usize| self.layouts[v].fm().cols;
        let len = |v: usize| self.layouts[v].len() as f64;
        self.steps
            .iter()
            .map(|step| {
                let mut f: Features = [0.0; 9];
                f[0] = 1.0;
                let out = len(step.writes());
                f[4] = out;
                f[7] = 4.0 * (out + step.reads().iter().map(|&v| len(v)).sum::<f64>());
                match step {
                    Step::Weight {
                        w, act, residual, x, ..
                    } => {
                        f[7] = 0.0;
                        weight_work(w, tokens(*x), &mut f);
                        if residual.is_some() {
                            f[7] += 4.0 * out;
                        }
                        if *act == Activation::Gelu {
                            f[5] = out;
                        }
                    }
                    Step::Conv { w, out: o, .. } => {
                        f[7] = 0.0;
                        weight_work(w, tokens(*o), &mut f);
                        // im2col writes the unfolded columns first.
                        f[4] += (w.cols() * tokens(*o)) as f64;
                    }
                    Step::Act { act, .. } if *act == Activation::Gelu => f[5] = out,
                    Step::Attention { shape, q, .. } => {
                        let m = tokens(*q) as f64;
                        let heads = shape.heads as f64;
                        f[1] = 2.0 * heads * m * m * shape.head_dim as f64;
                        f[4] += heads * m * m;
                        f[5] = heads * m * m;
                    }
                    Step::SpMM { adj, x, .. } => f[1] = (adj.nnz() * self.layouts[*x].fm().rows) as f64,
                    _ => {}
                }
                let class = match step {
                    // Strip height decides how often a loaded token vector is reused, and so
                    // the kernel's whole cost structure: each height is its own class.
                    Step::Weight {
                        w: PackedWeight::Block(b),
                        ..
                    } => format!("linear/block/h{}", strip_class(b.block[0])),
                    // One-row blocks run the unstructured kernel. Its class keeps the name of
                    // the one-row strips it replaced (profiles and their CSVs use it); blocks 2
                    // or 3 rows high still run as such strips and share it, but no search space
                    // or calibration set has them.
                    Step::Weight {
                        w: PackedWeight::Unstructured(_),
                        ..
                    } => "linear/block/h1".into(),
                    _ => step.label(),
                };
                StepWork { class, features: f }
            })
            .collect()
    }
}
