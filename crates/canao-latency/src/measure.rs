//! Timing graphs on the CPU backend: the designed calibration set, and the measurement of one
//! workload (per-step times from profiled runs and the end-to-end time of plain runs, each the
//! chosen [`Statistic`] over rounds).

use std::collections::BTreeMap;
use std::time::Instant;

use canao_cpu::bench::{Case, Format, case_sparsity};
use canao_cpu::{CpuExe, CpuRuntime, StepWork};
use canao_interp::random::{random_inputs, random_weights};
use canao_ir::builders::{BertArch, LinearArch};
use canao_ir::{Activation, Executable, Graph, Runtime, Schedule, Weights};
use canao_nn::{StudentArch, StudentLayer};
use canao_tensor::Tensor;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{LatencyError, Result};

/// A graph with weights (and its inputs) to time.
#[derive(Debug)]
pub struct Workload {
    pub name: String,
    pub graph: Graph,
    pub weights: Weights,
    pub inputs: BTreeMap<String, Tensor>,
}

/// How a workload's times over rounds become one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// The fastest round: the latency of the code itself. A shared host's slow spells (other
    /// tenants on the core's caches and load ports, seconds long) only ever add time, so with
    /// rounds spread over seconds the minimum is the figure that repeats from one run to the next.
    Min,
    /// The middle round, slow spells included. Profiles that do not say were fitted on it.
    #[default]
    Median,
}

impl Statistic {
    /// The statistic of `v` (not empty).
    pub fn of(self, v: Vec<f64>) -> f64 {
        match self {
            Statistic::Min => v.into_iter().fold(f64::INFINITY, f64::min),
            Statistic::Median => median(v),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Statistic::Min => "min",
            Statistic::Median => "median",
        }
    }
}

impl std::str::FromStr for Statistic {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "min" => Ok(Statistic::Min),
            "median" => Ok(Statistic::Median),
            _ => Err(format!("unknown statistic {s:?}: min or median")),
        }
    }
}

/// How workloads are timed: `rounds` runs of each, back to back with the rest of its group, in
/// each of `passes` passes over the whole set; each time is `statistic` over a pass's rounds and
/// then over the passes. Passes spread a workload's rounds over the whole measurement, so a slow
/// spell of a shared host that outlasts one group (seconds) still misses most of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub rounds: usize,
    pub passes: usize,
    pub statistic: Statistic,
}

/// What one workload measured: each step's work and time (the last being the run's `io`), and
/// the end-to-end time of plain runs, each the [`Statistic`] over rounds.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: String,
    pub work: Vec<StepWork>,
    pub steps_ns: Vec<f64>,
    pub total_ns: f64,
    /// How much slower the host ran while this was measured than at the reference speed
    /// (1 = same); times above are already divided by it.
    pub drift: f64,
}

impl Measured {
    /// The same measurement with its times divided by `drift`.
    pub fn normalised(&self, drift: f64) -> Self {
        Self {
            name: self.name.clone(),
            work: self.work.clone(),
            steps_ns: self.steps_ns.iter().map(|t| t / drift).collect(),
            total_ns: self.total_ns / drift,
            drift: self.drift * drift,
        }
    }
}

fn backend(e: impl std::fmt::Display) -> LatencyError {
    LatencyError::Measure(e.to_string())
}

impl Workload {
    /// Random weights and inputs for `graph` (ids below `vocab`), sparsified by `student` when
    /// it is a BERT student.
    pub fn new(name: String, graph: Graph, student: Option<&StudentArch>, vocab: usize, seed: u64) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut graph = graph;
        let weights = random_weights(&graph, &mut rng);
        if let Some(s) = student {
            s.sparsify(&mut graph, &weights).map_err(backend)?;
        }
        let inputs = random_inputs(&graph, &mut rng, vocab);
        Ok(Self {
            name,
            graph,
            weights,
            inputs,
        })
    }

    /// A student of `teacher` at `seq` tokens with random weights and block-magnitude masks.
    pub fn student(name: String, teacher: &BertArch, s: &StudentArch, seq: usize, seed: u64) -> Result<Self> {
        let arch = s.bert(teacher, seq).map_err(backend)?;
        Self::new(name, arch.build().map_err(backend)?, Some(s), teacher.vocab, seed)
    }

    /// Lowers onto the CPU backend (the random weights are dropped once packed).
    pub fn prepare(self, threads: usize) -> Result<Prepared> {
        let exe = CpuRuntime
            .prepare(&self.graph, &self.weights, &Schedule { threads })
            .map_err(backend)?;
        Ok(Prepared {
            name: self.name,
            work: exe.work(),
            exe,
            inputs: self.inputs,
            steps: Vec::new(),
            totals: Vec::new(),
        })
    }
}

/// A workload ready to run, with the timings taken so far.
#[derive(Debug)]
pub struct Prepared {
    pub name: String,
    pub work: Vec<StepWork>,
    exe: CpuExe,
    inputs: BTreeMap<String, Tensor>,
    /// Per round: each step's time (ns); and each round's end-to-end time.
    steps: Vec<Vec<f64>>,
    totals: Vec<f64>,
}

impl Prepared {
    /// One round: an untimed run (to warm the caches again after other workloads ran), a
    /// profiled run (per-step times) and a timed plain run (end to end).
    fn round(&mut self) -> Result<()> {
        self.exe.run(&self.inputs).map_err(backend)?;
        let steps = self.exe.profile(&self.inputs).map_err(backend)?;
        self.steps
            .push(steps.iter().map(|(_, d)| d.as_secs_f64() * 1e9).collect());
        let start = Instant::now();
        self.exe.run(&self.inputs).map_err(backend)?;
        self.totals.push(start.elapsed().as_secs_f64() * 1e9);
        Ok(())
    }

    /// `stat` over the rounds.
    pub fn measured(&self, stat: Statistic) -> Measured {
        Measured {
            name: self.name.clone(),
            work: self.work.clone(),
            steps_ns: (0..self.work.len())
                .map(|i| stat.of(self.steps.iter().map(|r| r[i]).collect()))
                .collect(),
            total_ns: stat.of(self.totals.clone()),
            drift: 1.0,
        }
    }
}

/// Builds, prepares and times `specs` a group of `group` at a time (each group in rounds, see
/// [`measure_all`]), in `timing.passes` passes over the set; a group's memory is released
/// before the next is built, so the set can be larger than memory and the machine's memory
/// state does not grow with it.
pub fn measure_specs(
    specs: &[Spec],
    threads: usize,
    timing: Timing,
    group: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Measured>> {
    let passes = timing.passes.max(1);
    let mut per_pass: Vec<Vec<Measured>> = Vec::with_capacity(passes);
    for pass in 0..passes {
        let mut out = Vec::with_capacity(specs.len());
        for (g, chunk) in specs.chunks(group.max(1)).enumerate() {
            let first = g * group.max(1);
            progress(&format!(
                "pass {}/{passes}, workloads {}-{} of {}: preparing",
                pass + 1,
                first + 1,
                first + chunk.len(),
                specs.len()
            ));
            let mut prepared = chunk
                .iter()
                .map(|s| s.build()?.prepare(threads))
                .collect::<Result<Vec<Prepared>>>()?;
            out.extend(measure_all(
                &mut prepared,
                (timing.rounds, timing.statistic),
                &mut |r, n| progress(&format!("  timing round {}/{n}", r + 1)),
            )?);
        }
        per_pass.push(out);
    }
    let stat = timing.statistic;
    let out = (0..specs.len())
        .map(|i| {
            let of = |f: &dyn Fn(&Measured) -> f64| stat.of(per_pass.iter().map(|p| f(&p[i])).collect());
            let first = &per_pass[0][i];
            Measured {
                steps_ns: (0..first.steps_ns.len()).map(|j| of(&|m| m.steps_ns[j])).collect(),
                total_ns: of(&|m| m.total_ns),
                ..first.clone()
            }
        })
        .collect();
    Ok(out)
}

/// Times all workloads in `rounds` rounds, each round running every workload once in turn, so
/// that a slow spell of a shared machine (seconds long) lands on all of them alike instead of
/// skewing a few; each time is `stat` over the rounds. `progress(round, rounds)` is called
/// before each round.
pub fn measure_all(
    prepared: &mut [Prepared],
    (rounds, stat): (usize, Statistic),
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Measured>> {
    // An untimed pass first: page faults, clock ramp-up and first-touch costs land here.
    for p in prepared.iter_mut() {
        p.exe.run(&p.inputs).map_err(backend)?;
    }
    for r in 0..rounds.max(1) {
        progress(r, rounds.max(1));
        for p in prepared.iter_mut() {
            p.round()?;
        }
    }
    Ok(prepared.iter().map(|p| p.measured(stat)).collect())
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
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

/// Name of the anchor workload: the dense MiniLM teacher at 128 tokens.
pub const ANCHOR: &str = "teacher@128";

/// The anchor workload (see [`crate::Fitted::anchor_ms`]).
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
                Workload::new(name.clone(), g, None, 1, *seed)
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
