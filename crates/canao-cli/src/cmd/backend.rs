//! Choosing the backend a model runs on, and the MiniLM options shared by `embed`, `run` and
//! `bench model`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use canao_cpu::CpuRuntime;
use canao_interp::Interpreter;
use canao_ir::Schedule;
use canao_models::{Embeddings, Encoded, LengthPolicy, MiniLm, StudentArch, assets};

use crate::cmd::trained::TrainedBert;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// canao's CPU code generator.
    Cpu,
    /// The reference interpreter (slow, obviously right).
    Interp,
    /// canao's WGSL kernels on the first wgpu adapter (needs a build with `--features wgpu`).
    Wgpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Interp => "interp",
            Backend::Wgpu => "wgpu",
        }
    }
}

/// Model options: which model, and structured pruning to apply before running it.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Model to use (minilm).
    #[arg(long, default_value = "minilm")]
    pub model: String,
    /// A student of the model (StudentArch RON: kept layers, heads, FFN width, block density
    /// per layer); its weights are inherited from the model's.
    #[arg(long, value_name = "ARCH.ron")]
    pub arch: Option<PathBuf>,
    /// Prune every encoder linear layer to this block sparsity by block magnitude (0 to <1).
    #[arg(long, allow_negative_numbers = true)]
    pub sparsity: Option<f64>,
    /// Block shape RxC for --sparsity (rows x columns of the weight matrix; default 32x32).
    #[arg(long, value_parser = parse_block, requires = "sparsity")]
    pub block: Option<[usize; 2]>,
    /// A `canao train` / `canao distill` run folder: its trained encoder, with the structure it
    /// was trained under (its classification head is used by `run` and `export`).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["arch", "sparsity"])]
    pub weights: Option<PathBuf>,
}

/// The block shape of `--sparsity` when `--block` is not given.
const DEFAULT_BLOCK: [usize; 2] = [32, 32];

pub fn parse_block(s: &str) -> Result<[usize; 2], String> {
    let (r, c) = s
        .split_once('x')
        .ok_or_else(|| format!("block `{s}` is not RxC, e.g. 16x16"))?;
    let num = |v: &str| {
        v.parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("`{v}` in block `{s}` is not a positive size"))
    };
    Ok([num(r)?, num(c)?])
}

/// `--threads`: at least one (0 would run one thread and report 0).
pub fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("threads must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("`{s}` is not a number of threads: {e}")),
    }
}

impl ModelArgs {
    /// Loads the model (fetching it if missing), then takes the `--arch` student of it and
    /// applies the requested pruning.
    pub fn load(&self) -> Result<MiniLm> {
        let student = self.arch.as_deref().map(read_student).transpose()?;
        self.load_with(student.as_ref())
    }

    /// As [`Self::load`], with the student given rather than read from `--arch`.
    pub fn load_with(&self, student: Option<&StudentArch>) -> Result<MiniLm> {
        if let Some(dir) = &self.weights {
            if student.is_some() {
                bail!("--weights holds its own architecture; drop --arch / --from");
            }
            return TrainedBert::load(dir)?.encoder();
        }
        if self.model != "minilm" {
            bail!("unknown model `{}`; available: minilm", self.model);
        }
        if let Some(s) = self.sparsity
            && !(0.0..1.0).contains(&s)
        {
            bail!("--sparsity is {s}: it is the share of blocks pruned, in [0, 1)");
        }
        let mut model = MiniLm::from_cache(&assets::canao_home(), &mut |line| eprintln!("{line}"))?;
        if let Some(s) = student {
            model = model.student(s)?;
        }
        if let Some(s) = self.sparsity {
            for p in model.prunable() {
                let w = model.weights().dense(&p)?.clone();
                let sp = canao_compress::block_magnitude(&p, &w, self.block(), s)
                    .with_context(|| format!("pruning @{p}"))?;
                model.set_sparsity(&p, sp)?;
            }
        }
        Ok(model)
    }

    /// The block shape of `--sparsity`.
    pub fn block(&self) -> [usize; 2] {
        self.block.unwrap_or(DEFAULT_BLOCK)
    }

    /// `"RxC"` when pruning is requested.
    pub fn block_label(&self) -> Option<String> {
        let [r, c] = self.block();
        self.sparsity.map(|_| format!("{r}x{c}"))
    }
}

/// Reads a StudentArch RON file; errors name the file (and line and column).
pub fn read_student(path: &Path) -> Result<StudentArch> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(canao_ir::builders::from_ron(&text, &path.display().to_string())?)
}

pub fn embed(
    model: &MiniLm,
    backend: Backend,
    threads: usize,
    texts: &[String],
    policy: LengthPolicy,
) -> Result<Embeddings> {
    let schedule = Schedule { threads };
    Ok(match backend {
        Backend::Cpu => model.embed(&CpuRuntime, &schedule, texts, policy)?,
        Backend::Interp => model.embed(&Interpreter, &schedule, texts, policy)?,
        Backend::Wgpu => embed_wgpu(model, &schedule, texts, policy)?,
    })
}

/// Logits of a trained classifier for each tokenised text on `backend`.
pub fn classify(model: &TrainedBert, backend: Backend, threads: usize, encoded: &[Encoded]) -> Result<Vec<Vec<f32>>> {
    let schedule = Schedule { threads };
    match backend {
        Backend::Cpu => model.logits(&CpuRuntime, &schedule, encoded),
        Backend::Interp => model.logits(&Interpreter, &schedule, encoded),
        Backend::Wgpu => classify_wgpu(model, &schedule, encoded),
    }
}

#[cfg(feature = "wgpu")]
fn classify_wgpu(model: &TrainedBert, schedule: &Schedule, encoded: &[Encoded]) -> Result<Vec<Vec<f32>>> {
    model.logits(&canao_wgsl::WgpuRuntime::new()?, schedule, encoded)
}

#[cfg(not(feature = "wgpu"))]
fn classify_wgpu(_: &TrainedBert, _: &Schedule, _: &[Encoded]) -> Result<Vec<Vec<f32>>> {
    bail!(NO_WGPU)
}

#[cfg(feature = "wgpu")]
fn embed_wgpu(model: &MiniLm, schedule: &Schedule, texts: &[String], policy: LengthPolicy) -> Result<Embeddings> {
    let rt = canao_wgsl::WgpuRuntime::new()?;
    let note = if rt.is_cpu() {
        " (a CPU adapter: timings are not GPU figures)"
    } else {
        ""
    };
    eprintln!("wgpu adapter: {}{note}", rt.describe());
    Ok(model.embed(&rt, schedule, texts, policy)?)
}

#[cfg(not(feature = "wgpu"))]
pub const NO_WGPU: &str =
    "this canao was built without the wgpu backend; rebuild with `cargo build -p canao-cli --features wgpu`";

#[cfg(not(feature = "wgpu"))]
fn embed_wgpu(_: &MiniLm, _: &Schedule, _: &[String], _: LengthPolicy) -> Result<Embeddings> {
    bail!(NO_WGPU)
}

/// Runs one graph once on `backend` (a GCN's whole-graph forward, say).
pub fn run_graph(
    backend: Backend,
    threads: usize,
    graph: &canao_ir::Graph,
    weights: &canao_ir::Weights,
    inputs: &std::collections::BTreeMap<String, canao_tensor::Tensor>,
) -> Result<Vec<canao_tensor::Tensor>> {
    use canao_ir::{Executable, Runtime};
    let schedule = Schedule { threads };
    let any = |e: &dyn std::fmt::Display| anyhow::anyhow!("{e}");
    match backend {
        Backend::Cpu => CpuRuntime
            .prepare(graph, weights, &schedule)
            .map_err(|e| any(&e))?
            .run(inputs)
            .map_err(|e| any(&e)),
        Backend::Interp => Interpreter
            .prepare(graph, weights, &schedule)
            .map_err(|e| any(&e))?
            .run(inputs)
            .map_err(|e| any(&e)),
        Backend::Wgpu => run_graph_wgpu(graph, weights, &schedule, inputs),
    }
}

#[cfg(feature = "wgpu")]
fn run_graph_wgpu(
    graph: &canao_ir::Graph,
    weights: &canao_ir::Weights,
    schedule: &Schedule,
    inputs: &std::collections::BTreeMap<String, canao_tensor::Tensor>,
) -> Result<Vec<canao_tensor::Tensor>> {
    use canao_ir::{Executable, Runtime};
    let rt = canao_wgsl::WgpuRuntime::new()?;
    eprintln!("wgpu adapter: {}", rt.describe());
    let mut exe = rt
        .prepare(graph, weights, schedule)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    exe.run(inputs).map_err(|e| anyhow::anyhow!("{e}"))
}

#[cfg(not(feature = "wgpu"))]
fn run_graph_wgpu(
    _: &canao_ir::Graph,
    _: &canao_ir::Weights,
    _: &Schedule,
    _: &std::collections::BTreeMap<String, canao_tensor::Tensor>,
) -> Result<Vec<canao_tensor::Tensor>> {
    bail!(NO_WGPU)
}
