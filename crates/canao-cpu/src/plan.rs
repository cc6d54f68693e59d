//! The executable plan: kernel steps over numbered values, and the buffer arena those values
//! live in. Buffers are assigned by liveness so values whose lifetimes do not overlap share
//! memory, and everything (scratch included) is allocated once, at prepare time.

use canao_ir::{Activation, DType, PoolKind};
use canao_tensor::Csr;

use crate::kernels::{AttentionShape, Fm, Window};
use crate::pack::PackedWeight;

/// How a value is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A plain vector (ids, masks, a sentence embedding).
    Vec1(usize),
    /// Feature-major rows.
    Fm(Fm),
}

impl Layout {
    pub fn len(&self) -> usize {
        match self {
            Layout::Vec1(n) => *n,
            Layout::Fm(f) => f.rows * f.ld,
        }
    }

    pub fn fm(&self) -> Fm {
        match self {
            Layout::Fm(f) => *f,
            Layout::Vec1(n) => Fm {
                rows: 1,
                cols: *n,
                ld: *n,
            },
        }
    }

    /// The value as weight kernels see it, features as rows: a plain vector is one position
    /// of `n` features (a sentence embedding fed to a classification head), `n` rows of one
    /// column, which is the same memory.
    pub fn features(&self) -> Fm {
        match self {
            Layout::Fm(f) => *f,
            Layout::Vec1(n) => Fm {
                rows: *n,
                cols: 1,
                ld: 1,
            },
        }
    }
}

/// Index of a value in the plan.
pub type Val = usize;

/// One kernel invocation. `node` labels run-time errors.
#[derive(Debug)]
pub enum Step {
    /// Copy graph input `name` (IR shape `shape`) into its layout.
    Input {
        name: String,
        dtype: DType,
        shape: Vec<usize>,
        out: Val,
    },
    Embedding {
        node: String,
        table: Vec<f32>,
        dim: usize,
        ids: Val,
        out: Val,
    },
    /// out = epilogue(W x), the epilogue being bias, activation, then a residual add.
    Weight {
        w: PackedWeight,
        bias: Option<Vec<f32>>,
        act: Activation,
        residual: Option<Val>,
        x: Val,
        out: Val,
    },
    /// im2col into scratch, then a weight step.
    Conv {
        w: PackedWeight,
        bias: Option<Vec<f32>>,
        window: Window,
        channels: usize,
        x: Val,
        out: Val,
    },
    Bias {
        bias: Vec<f32>,
        x: Val,
        out: Val,
    },
    Act {
        act: Activation,
        x: Val,
        out: Val,
    },
    Add {
        a: Val,
        b: Val,
        out: Val,
    },
    LayerNorm {
        gamma: Vec<f32>,
        beta: Vec<f32>,
        eps: f32,
        x: Val,
        out: Val,
    },
    Attention {
        shape: AttentionShape,
        q: Val,
        k: Val,
        v: Val,
        mask: Val,
        out: Val,
    },
    MaskedMean {
        x: Val,
        mask: Val,
        out: Val,
    },
    L2Normalize {
        x: Val,
        out: Val,
    },
    Pool {
        kind: PoolKind,
        window: Window,
        channels: usize,
        x: Val,
        out: Val,
    },
    Flatten {
        channels: usize,
        batch: usize,
        plane: usize,
        x: Val,
        out: Val,
    },
    SpMM {
        adj: Csr,
        x: Val,
        out: Val,
    },
}

impl Step {
    /// Values the step reads.
    pub fn reads(&self) -> Vec<Val> {
        match self {
            Step::Input { .. } => vec![],
            Step::Weight { residual, x, .. } => std::iter::once(*x).chain(*residual).collect(),
            Step::Add { a, b, .. } => vec![*a, *b],
            Step::Attention { q, k, v, mask, .. } => vec![*q, *k, *v, *mask],
            Step::MaskedMean { x, mask, .. } => vec![*x, *mask],
            Step::Embedding { ids: x, .. }
            | Step::Conv { x, .. }
            | Step::Bias { x, .. }
            | Step::Act { x, .. }
            | Step::LayerNorm { x, .. }
            | Step::L2Normalize { x, .. }
            | Step::Pool { x, .. }
            | Step::Flatten { x, .. }
            | Step::SpMM { x, .. } => vec![*x],
        }
    }

    pub fn writes(&self) -> Val {
        match self {
            Step::Input { out, .. }
            | Step::Embedding { out, .. }
            | Step::Weight { out, .. }
            | Step::Conv { out, .. }
            | Step::Bias { out, .. }
            | Step::Act { out, .. }
            | Step::Add { out, .. }
            | Step::LayerNorm { out, .. }
            | Step::Attention { out, .. }
            | Step::MaskedMean { out, .. }
            | Step::L2Normalize { out, .. }
            | Step::Pool { out, .. }
            | Step::Flatten { out, .. }
            | Step::SpMM { out, .. } => *out,
        }
    }
}

/// Steps, the layout of every value, which buffer holds it, and the scratch size.
#[derive(Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub layouts: Vec<Layout>,
    /// Values with a fixed content computed at prepare time (position ids), and that content.
    pub constants: Vec<(Val, Vec<f32>)>,
    pub outputs: Vec<Val>,
    /// IR shape of each output, to convert back.
    pub output_shapes: Vec<Vec<usize>>,
    pub buffer_of: Vec<usize>,
    pub buffer_sizes: Vec<usize>,
    pub scratch: usize,
}

impl Plan {
    /// Assigns buffers by liveness: a value's buffer returns to the free list after the last step
    /// that reads it, and is reused best-fit. Constants and outputs keep theirs for good.
    pub fn assign_buffers(&mut self) {
        let n = self.layouts.len();
        let mut last_read = vec![None; n];
        for (i, s) in self.steps.iter().enumerate() {
            for r in s.reads() {
                last_read[r] = Some(i);
            }
        }
        let pinned: Vec<bool> = (0..n)
            .map(|v| self.outputs.contains(&v) || self.constants.iter().any(|(c, _)| *c == v))
            .collect();
        self.buffer_of = vec![usize::MAX; n];
        self.buffer_sizes.clear();
        let mut free: Vec<usize> = Vec::new();
        let take = |len: usize, sizes: &mut Vec<usize>, free: &mut Vec<usize>| -> usize {
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, b)| sizes[**b] >= len)
                .min_by_key(|(_, b)| sizes[**b]);
            match best {
                Some((i, _)) => free.swap_remove(i),
                None => {
                    sizes.push(len);
                    sizes.len() - 1
                }
            }
        };
        // Constants are written at prepare time and inputs before the first step runs, so their
        // buffers must be theirs from the start.
        let early: Vec<Val> = self
            .constants
            .iter()
            .map(|(c, _)| *c)
            .chain(
                self.steps
                    .iter()
                    .filter(|s| matches!(s, Step::Input { .. }))
                    .map(Step::writes),
            )
            .collect();
        for v in early {
            self.buffer_of[v] = take(self.layouts[v].len(), &mut self.buffer_sizes, &mut free);
        }
        for i in 0..self.steps.len() {
            let out = self.steps[i].writes();
            if self.buffer_of[out] == usize::MAX {
                self.buffer_of[out] = take(self.layouts[out].len(), &mut self.buffer_sizes, &mut free);
            }
            for r in self.steps[i].reads() {
                if last_read[r] == Some(i) && !pinned[r] && !free.contains(&self.buffer_of[r]) {
                    free.push(self.buffer_of[r]);
                }
            }
            if last_read[out].is_none() && !pinned[out] {
                free.push(self.buffer_of[out]);
            }
        }
    }
}
