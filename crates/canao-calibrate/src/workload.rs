//! The workloads calibration times: the designed set (the dense MiniLM teacher and random
//! students at several lengths, single linear layers in the pattern and circulant formats),
//! built with random weights only when measured.

use std::collections::BTreeMap;

use canao_cpu::bench::{Case, Format, case_sparsity};
use canao_interp::random::{random_inputs, random_weights};
use canao_ir::builders::{BertArch, LinearArch};
use canao_ir::{Activation, Graph, Weights};
use canao_latency::measured::ANCHOR;
use canao_latency::{LatencyError, Result};
use canao_models::{StudentArch, StudentLayer};
use canao_tensor::Tensor;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A graph with weights (and its inputs) to time.
#[derive(Debug)]
pub struct Workload {
    pub name: String,
    pub graph: Graph,
    pub weights: Weights,
    pub inputs: BTreeMap<String, Tensor>,
}

pub(crate) fn backend(e: impl std::fmt::Display) -> LatencyError {
    LatencyError::Measure(e.to_string())
}

impl Workload {
    /// Random weights and inputs (ids below `vocab`) for `graph`.
    pub fn new(name: String, graph: Graph, vocab: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let weights = random_weights(&graph, &mut rng);
        let inputs = random_inputs(&graph, &mut rng, vocab);
        Self {
            name,
            graph,
            weights,
            inputs,
        }
    }

    /// A student of `teacher` at `seq` tokens with random weights and block-magnitude masks.
    pub fn student(name: String, teacher: &BertArch, s: &StudentArch, seq: usize, seed: u64) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (graph, weights) = s.random_model(teacher, seq, &mut rng).map_err(backend)?;
        let inputs = random_inputs(&graph, &mut rng, teacher.vocab);
        Ok(Self {
            name,
            graph,
            weights,
            inputs,
        })
    }
}

/// Block shapes the calibration covers (the search spaces' and the kernel suite's).
const BLOCKS: [[usize; 2]; 7] = [[1, 1], [4, 4], [8, 8], [16, 16], [32, 32], [4, 16], [16, 4]];
const DENSITIES: [f64; 5] = [1.0, 0.75, 0.5, 0.25, 0.1];

/// A random student of `teacher`: 1 to all layers, any heads and FFN width (multiples of 64),
/// per-layer density and block shape from the calibration grids.
pub fn random_student(teacher: &BertArch, rng: &mut ChaCha8Rng) -> StudentArch {
    let n = teacher.layers.len();
    let keep = rng.random_range(1..=n);
    let mut layers: Vec<usize> = rand::seq::index::sample(rng, n, keep).into_vec();
    layers.sort_unstable();
    StudentArch {
        layers: layers
            .into_iter()
            .map(|t| {
                let tl = &teacher.layers[t];
                let density = *DENSITIES.choose(rng).expect("non-empty");
                StudentLayer {
                    teacher: t,
                    heads: rng.random_range(1..=tl.heads),
                    ffn: (rng.random_range(1..=tl.ffn.div_ceil(64)) * 64).min(tl.ffn),
                    density,
                    block: (density < 1.0).then(|| *BLOCKS.choose(rng).expect("non-empty")),
                }
            })
            .collect(),
    }
}

/// The anchor workload (see `canao_latency::Fitted::anchor_ms`).
pub fn anchor() -> Spec {
    let teacher = BertArch::minilm(128);
    Spec::Student {
        name: ANCHOR.into(),
        student: StudentArch::identity(&teacher),
        teacher,
        seq: 128,
        seed: 0,
    }
}

/// A workload described, built only when it is measured (a MiniLM student with random weights
/// holds about 90 MB).
#[derive(Debug, Clone)]
pub enum Spec {
    Student {
        name: String,
        teacher: BertArch,
        student: StudentArch,
        seq: usize,
        seed: u64,
    },
    /// One linear layer with bias in a given format (a kernel-suite case).
    Linear { name: String, case: Case, seed: u64 },
}

impl Spec {
    pub fn name(&self) -> &str {
        match self {
            Spec::Student { name, .. } | Spec::Linear { name, .. } => name,
        }
    }

    pub fn build(&self) -> Result<Workload> {
        match self {
            Spec::Student {
                name,
                teacher,
                student,
                seq,
                seed,
            } => Workload::student(name.clone(), teacher, student, *seq, *seed),
            Spec::Linear { name, case, seed } => {
                let mut g = LinearArch {
                    tokens: case.m,
                    input: case.k,
                    output: case.n,
                    bias: true,
                    act: Activation::Identity,
                }
                .build()
                .map_err(backend)?;
                let mut rng = ChaCha8Rng::seed_from_u64(*seed);
                g.set_sparsity("fc.w", case_sparsity(case, &mut rng)).map_err(backend)?;
                Ok(Workload::new(name.clone(), g, 1, *seed))
            }
        }
    }
}

/// The designed calibration set: the dense teacher and random students of MiniLM at several
/// sequence lengths (every BERT kernel class in context, with sparse layers of every block shape
/// and density), and single linear layers in the pattern and circulant formats at BERT shapes.
/// `quick` keeps a small slice of it (short sequences, fewer students).
pub fn calibration_set(quick: bool, seed: u64) -> Vec<Spec> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let teacher = BertArch::minilm(128);
    let (seqs, per_seq): (&[usize], usize) = if quick {
        (&[16, 48], 3)
    } else {
        (&[32, 64, 128, 256], 12)
    };
    let mut set = Vec::new();
    for &seq in seqs {
        set.push(Spec::Student {
            name: format!("teacher@{seq}"),
            teacher: teacher.clone(),
            student: StudentArch::identity(&teacher),
            seq,
            seed: rng.random(),
        });
        for i in 0..per_seq {
            set.push(Spec::Student {
                name: format!("student{i}@{seq}"),
                teacher: teacher.clone(),
                student: random_student(&teacher, &mut rng),
                seq,
                seed: rng.random(),
            });
        }
    }
    let shapes: &[(usize, usize)] = if quick {
        &[(384, 384)]
    } else {
        &[(384, 384), (384, 1536), (1536, 384)]
    };
    let tokens: &[usize] = if quick { &[32] } else { &[64, 128] };
    for &(k, n) in shapes {
        for &m in tokens {
            let case = |kernel, density, block| Case {
                kernel,
                m,
                k,
                n,
                density,
                block,
            };
            let cases = [0.5, 0.25, 0.1]
                .map(|d| case(Format::Pattern, d, [16, 16]))
                .into_iter()
                .chain([4, 8, 16].map(|b| case(Format::Circulant, 1.0 / b as f64, [b, b])));
            for c in cases {
                set.push(Spec::Linear {
                    name: format!("{}-{:.2}-{k}x{n}@{m}", c.kernel, c.density),
                    case: c,
                    seed: rng.random(),
                });
            }
        }
    }
    set
}
