//! The kernel benchmark suite shared by `canao bench kernels` and the criterion benches: BERT
//! shapes at 128 tokens, every weight format at several densities, timed against the dense
//! kernel on the same shape in the same run.

use std::time::{Duration, Instant};

use canao_ir::{BitMask, Sparsity};
use canao_tensor::Tensor;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::arena::Aligned;
use crate::kernels::{Cx, Epilogue, Fm, apply_weight};
use crate::pack::{PackedWeight, pack_weight};
use crate::padded;

/// Tokens per sequence in every case (BERT at sequence 128).
pub const TOKENS: usize = 128;
/// (in, out) of the weight matrices: MiniLM's and BERT-base's linear layers.
pub const SHAPES: [(usize, usize); 5] = [(384, 384), (384, 1536), (1536, 384), (768, 768), (768, 3072)];
pub const DENSITIES: [f64; 4] = [1.0, 0.5, 0.25, 0.1];
pub const BLOCKS: [[usize; 2]; 5] = [[1, 1], [4, 4], [8, 8], [16, 16], [32, 32]];

/// The weight formats the suite times, each one kernel family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dense,
    Block,
    Pattern,
    Circulant,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Dense => "dense",
            Format::Block => "block",
            Format::Pattern => "pattern",
            Format::Circulant => "circulant",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// One benchmark case: a weight format at a shape and density.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub kernel: Format,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Requested density (the share of weights kept; 1/b for circulant).
    pub density: f64,
    pub block: [usize; 2],
}

/// The full suite: dense; block-sparse for each block shape and density; pattern-sparse (16x16
/// blocks, 4 patterns per layer) and block-circulant (b = 4, 8, 16).
pub fn suite() -> Vec<Case> {
    let mut cases = Vec::new();
    for (k, n) in SHAPES {
        let case = |kernel, density, block| Case {
            kernel,
            m: TOKENS,
            k,
            n,
            density,
            block,
        };
        cases.push(case(Format::Dense, 1.0, [1, 1]));
        for block in BLOCKS {
            for d in DENSITIES {
                cases.push(case(Format::Block, d, block));
            }
        }
        for d in &DENSITIES[1..] {
            cases.push(case(Format::Pattern, *d, [16, 16]));
        }
        for b in [4, 8, 16] {
            cases.push(case(Format::Circulant, 1.0 / b as f64, [b, b]));
        }
    }
    cases
}

/// Random data and a packed weight for one case.
#[derive(Debug)]
pub struct Prepared {
    pub weight: PackedWeight,
    pub sparsity: Sparsity,
    pub x: Aligned,
    pub xf: Fm,
    pub y: Aligned,
    pub scratch: Aligned,
}

impl Prepared {
    pub fn new(c: &Case, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let data: Vec<f32> = (0..c.n * c.k).map(|_| rng.random_range(-1.0..1.0)).collect();
        let w = Tensor::new(vec![c.n, c.k], data).expect("sizes match");
        let sparsity = case_sparsity(c, &mut rng);
        let weight = pack_weight("bench", &w, &sparsity).expect("valid by construction");
        let xf = Fm {
            rows: c.k,
            cols: c.m,
            ld: padded(c.m),
        };
        let mut x = Aligned::zeros(xf.rows * xf.ld);
        x.as_mut_slice()
            .iter_mut()
            .for_each(|v| *v = rng.random_range(-1.0..1.0));
        let scratch = weight.scratch_len(xf.ld);
        Self {
            weight,
            sparsity,
            x,
            xf,
            y: Aligned::zeros(c.n * padded(c.m)),
            scratch: Aligned::zeros(scratch),
        }
    }

    /// One kernel call.
    pub fn run(&mut self, cx: Cx) {
        let (x, y, scratch) = (self.x.as_slice(), self.y.as_mut_slice(), self.scratch.as_mut_slice());
        apply_weight(&self.weight, x, self.xf, y, self.xf.ld, &Epilogue::none(), scratch, cx);
    }

    /// FLOPs the kernel actually performs (non-zeros only; the frequency-domain route for
    /// circulant, as the IR counts it).
    pub fn actual_flops(&self, c: &Case) -> u64 {
        self.sparsity.matmul_flops(c.m, &[c.n, c.k])
    }
}

/// The structure a case asks for, drawn at random: exact-density block masks, 4 random patterns
/// per layer assigned at random, or circulant tiles.
pub fn case_sparsity(c: &Case, rng: &mut ChaCha8Rng) -> Sparsity {
    match c.kernel {
        Format::Block => {
            let grid = c.n.div_ceil(c.block[0]) * c.k.div_ceil(c.block[1]);
            Sparsity::Block {
                block: c.block,
                mask: BitMask(exact_mask(grid, c.density, rng)),
            }
        }
        Format::Pattern => {
            let cells = c.block[0] * c.block[1];
            let patterns: Vec<BitMask> = (0..4).map(|_| BitMask(exact_mask(cells, c.density, rng))).collect();
            let grid = c.n.div_ceil(c.block[0]) * c.k.div_ceil(c.block[1]);
            Sparsity::Pattern {
                block: c.block,
                patterns,
                assign: (0..grid).map(|_| rng.random_range(0..4)).collect(),
            }
        }
        Format::Circulant => Sparsity::Circulant { block: c.block[0] },
        Format::Dense => Sparsity::Dense,
    }
}

/// A mask with exactly round(density * len) bits set, at random positions.
fn exact_mask(len: usize, density: f64, rng: &mut ChaCha8Rng) -> Vec<bool> {
    let keep = ((density * len as f64).round() as usize).clamp(1, len);
    let mut m: Vec<bool> = (0..len).map(|i| i < keep).collect();
    m.shuffle(rng);
    m
}

/// Median wall time of each of `calls`, taking turns so that a slow spell of the machine lands
/// on all of them alike: each round runs every call once untimed (to warm its caches again after
/// the others ran) and then times it `per_turn` times; rounds repeat until each call has at least
/// `min_reps` timings and `min_time` has passed.
pub fn median_times(calls: &mut [&mut dyn FnMut()], min_reps: usize, min_time: Duration) -> Vec<Duration> {
    const PER_TURN: usize = 4;
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); calls.len()];
    let start = Instant::now();
    while times[0].len() < min_reps || start.elapsed() < min_time {
        for (f, t) in calls.iter_mut().zip(&mut times) {
            f();
            for _ in 0..PER_TURN {
                let s = Instant::now();
                f();
                t.push(s.elapsed());
            }
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect()
}
