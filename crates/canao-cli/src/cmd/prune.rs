//! `canao prune`: prunes a trained LeNet-5 to a structure at a compression rate by magnitude,
//! ADMM or SLR, retrains with the mask fixed, and writes the pruned model as a run folder
//! (`model.ron`, `weights.safetensors` with zeros stored as zeros, `constraints.ron`) with
//! `report.json` (accuracies before and after the hard prune, per retraining epoch, at the end;
//! compression; CPU latency of the pruned and the dense model, measured in the same run) and
//! `retrain.svg`. `--resume DIR` continues a killed run; `prune.json` fixes its settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use canao_compress::{SlrParams, Structure};
use canao_cpu::CpuRuntime;
use canao_ir::{Executable, Runtime, Schedule, Weights};
use canao_tensor::Tensor;
use canao_train::data::Task;
use canao_train::{GroupLassoParams, ModelSpec, PruneConfig, PruneMethod, Pruned, TrainConfig};
use plotters::style::colors::{BLUE, RED};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::cmd::model::ModelKind;
use crate::cmd::plot;
use crate::cmd::train::{self, RunSettings, image_learner};
use crate::cmd::train_report::{self, TrainBar, write_atomic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodKind {
    Magnitude,
    Admm,
    Slr,
    /// Reweighted group Lasso (every group penalised, reweighted every --every epochs).
    Reweighted,
    /// Dynamic regularisation: group Lasso on the groups outside the target, updated every epoch.
    Dynamic,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, value_enum, default_value = "slr")]
    method: MethodKind,
    /// The model to prune (MiniLM pruning is not built yet).
    #[arg(long, value_enum, default_value = "lenet5")]
    model: ModelKind,
    /// irregular, filter, column or block:RxC.
    #[arg(long, default_value = "irregular")]
    structure: Structure,
    /// Compression of the pruned weights together: total over non-zero.
    #[arg(long, default_value_t = 8.0, allow_negative_numbers = true)]
    rate: f64,
    /// A `canao train --model lenet5` run folder to prune (default: train one into OUT/dense).
    #[arg(long)]
    from: Option<PathBuf>,
    /// The image task (fashion-mnist or digits) when no --from gives it.
    #[arg(long, default_value = "fashion-mnist")]
    task: String,
    /// Epochs of ADMM / SLR training before the hard prune.
    #[arg(long, default_value_t = 6)]
    epochs: usize,
    /// Epochs of retraining with the mask fixed.
    #[arg(long, default_value_t = 3)]
    retrain_epochs: usize,
    /// Peak learning rate of both phases.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// The penalty's rho (ADMM and SLR).
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    rho: f64,
    /// ADMM: epochs between Z / U updates.
    #[arg(long, default_value_t = 1)]
    interval: usize,
    /// Group Lasso: the penalty's weight (default 1e-4).
    #[arg(long, allow_negative_numbers = true)]
    lambda: Option<f64>,
    /// Group Lasso: epochs between reweightings (default 4 for reweighted, 1 for dynamic).
    #[arg(long)]
    every: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train on only the first N items of the training part (quick runs).
    #[arg(long)]
    train_limit: Option<usize>,
    /// Weights to prune, comma-separated (default: every convolution and linear weight; for
    /// filter pruning all but the output layer's, whose rows are the classes).
    #[arg(long, value_delimiter = ',')]
    layers: Vec<String>,
    /// Output folder (default: results/prune-<model>-<method>-<structure>-<rate>x-seed<S>-<time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this folder; its prune.json fixes every setting.
    #[arg(long)]
    resume: Option<PathBuf>,
}

/// LeNet-5's weights but the output layer's.
const HIDDEN: [&str; 4] = ["conv1.w", "conv2.w", "fc1.w", "fc2.w"];

/// A run's resolved settings (`prune.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// The trained model pruned; `None`: trained in `dense/` first.
    from: Option<PathBuf>,
    task: Task,
    train_limit: Option<usize>,
    seed: u64,
    config: PruneConfig,
}

pub fn run(a: Args) -> Result<()> {
    let (dir, settings, resume) = match &a.resume {
        Some(dir) => (dir.clone(), read_settings(dir)?, true),
        None => {
            let s = a.settings()?;
            let dir = a.out.clone().unwrap_or_else(|| default_dir(&s));
            if dir.join("prune.json").exists() {
                bail!(
                    "{} already holds a pruning run; --resume it or pick another --out",
                    dir.display()
                );
            }
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            write_atomic(&dir.join("prune.json"), &serde_json::to_vec_pretty(&s)?)?;
            (dir, s, false)
        }
    };
    execute(&dir, &settings, resume)
}

impl Args {
    fn settings(&self) -> Result<Settings> {
        if self.model != ModelKind::Lenet5 {
            bail!("--model minilm: pruning MiniLM is not built yet; --model lenet5 is");
        }
        let task: Task = match &self.from {
            Some(dir) => lenet_run(dir)?.1,
            None => self.task.parse()?,
        };
        if task == Task::RottenTomatoes {
            bail!("--task rotten-tomatoes is a text task; LeNet-5 takes fashion-mnist or digits");
        }
        let method = match self.method {
            MethodKind::Magnitude => PruneMethod::Magnitude,
            MethodKind::Admm => PruneMethod::Admm {
                interval: self.interval,
            },
            MethodKind::Slr => PruneMethod::Slr(SlrParams::default()),
            MethodKind::Reweighted => self.group_lasso(GroupLassoParams::reweighted())?,
            MethodKind::Dynamic => self.group_lasso(GroupLassoParams::dynamic())?,
        };
        let phase = |epochs: usize| TrainConfig {
            epochs,
            lr: self.lr,
            warmup: 0.0,
            patience: epochs,
            ..RunSettings::defaults(ModelKind::Lenet5, None, task, None, self.seed).train
        };
        let config = PruneConfig {
            method,
            structure: self.structure,
            rate: self.rate,
            rho: self.rho,
            split: phase(self.epochs),
            retrain: phase(self.retrain_epochs),
            layers: match (self.layers.is_empty(), self.structure) {
                // Whole rows of the output layer are whole classes: filter pruning keeps them.
                (true, Structure::Filter) => HIDDEN.map(String::from).to_vec(),
                _ => self.layers.clone(),
            },
        };
        if method != PruneMethod::Magnitude {
            config.split.validate()?;
        }
        config.retrain.validate()?;
        // The rate is checked against LeNet-5's weights before any training starts.
        canao_train::prune::layers(&config, &canao_train::init_lenet(&Default::default(), 0)?)?;
        Ok(Settings {
            from: self.from.clone(),
            task,
            train_limit: self.train_limit,
            seed: self.seed,
            config,
        })
    }
}

impl Args {
    fn group_lasso(&self, defaults: GroupLassoParams) -> Result<PruneMethod> {
        let p = GroupLassoParams {
            lambda: self.lambda.unwrap_or(defaults.lambda),
            every: self.every.unwrap_or(defaults.every),
            ..defaults
        };
        p.validate().context("--lambda / --every")?;
        Ok(PruneMethod::GroupLasso(p))
    }
}

fn default_dir(s: &Settings) -> PathBuf {
    let c = &s.config;
    let structure = c.structure.to_string().replace(':', "");
    PathBuf::from("results").join(format!(
        "prune-lenet5-{}-{structure}-{}x-seed{}-{}",
        c.method.name(),
        c.rate,
        s.seed,
        crate::cmd::search::timestamp()
    ))
}

fn read_settings(dir: &Path) -> Result<Settings> {
    let path = dir.join("prune.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The trained LeNet-5 of a `canao train` run folder, and its task.
fn lenet_run(dir: &Path) -> Result<(Weights, Task)> {
    let spec_file = dir.join("model.ron");
    if !spec_file.exists() {
        bail!("{} is not a `canao train` run folder (no model.ron)", dir.display());
    }
    let ModelSpec::LeNet { .. } = ModelSpec::load(&spec_file)? else {
        bail!(
            "{} holds a BERT classifier; --model lenet5 prunes a LeNet-5 run",
            dir.display()
        );
    };
    let run: RunSettings = serde_json::from_str(&std::fs::read_to_string(dir.join("run.json"))?)
        .with_context(|| format!("parsing {}", dir.join("run.json").display()))?;
    let weights = canao_train::checkpoint::read_weights(&dir.join("weights.safetensors"))?;
    Ok((weights, run.task))
}

fn execute(dir: &Path, s: &Settings, resume: bool) -> Result<()> {
    let from = match &s.from {
        Some(from) => from.clone(),
        None => train_dense(dir, s, resume)?,
    };
    let (weights, _) = lenet_run(&from)?;
    let device = Device::flex().autodiff();
    let (learner, _) = image_learner(s.task, s.train_limit, device.clone())?;
    let mut bars: BTreeMap<String, TrainBar> = BTreeMap::new();
    let mut progress = |phase: &str, p: &canao_train::Progress| {
        bars.entry(phase.to_string())
            .or_insert_with(|| train_report::bar(&dir.join(phase)))
            .update(p);
    };
    let pruned = canao_train::prune(&learner, &weights, &s.config, &device, dir, resume, &mut progress)?;
    for (_, bar) in bars {
        bar.finish();
    }
    write_outputs(dir, s, &learner.arch, &pruned, &weights)
}

/// Trains the dense LeNet-5 the run prunes into `dir/dense` (resumed when a killed run left one).
fn train_dense(dir: &Path, s: &Settings, resume: bool) -> Result<PathBuf> {
    let dense = dir.join("dense");
    let mut settings = RunSettings::defaults(ModelKind::Lenet5, None, s.task, None, s.seed);
    settings.train_limit = s.train_limit;
    if !dense.join("weights.safetensors").exists() {
        train::train_run(&dense, &settings, resume && dense.join("run.json").exists())?;
    }
    Ok(dense)
}

fn write_outputs(
    dir: &Path,
    s: &Settings,
    arch: &canao_ir::builders::LeNetArch,
    pruned: &Pruned,
    dense: &Weights,
) -> Result<()> {
    let spec = ModelSpec::LeNet {
        arch: arch.clone(),
        labels: s.task.labels(),
    };
    spec.save(&dir.join("model.ron"))?;
    pruned.constraints.save(&dir.join("constraints.ron"))?;
    canao_train::checkpoint::write_weights(&dir.join("weights.safetensors"), &pruned.weights)?;
    let latency = latency(&spec, pruned, dense)?;
    let r = &pruned.report;
    let report = json!({"settings": s, "pruning": r, "cpu_latency": latency});
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    let curve = |first: f64| -> Vec<(f64, f64)> {
        std::iter::once((0.0, first))
            .chain(
                r.accuracy_per_epoch
                    .iter()
                    .enumerate()
                    .map(|(e, &a)| (e as f64 + 1.0, a)),
            )
            .collect()
    };
    let retrain = curve(r.accuracy_hard_prune.validation);
    let before = vec![(0.0, r.accuracy_before_prune.validation); 1];
    plot::xy(
        &dir.join("retrain.svg"),
        &format!(
            "LeNet-5 {} {} at {:.2}x: test accuracy {:.4}",
            r.method, r.structure, r.compression_pruned_layers, r.test_accuracy
        ),
        "retraining epoch (0: right after the hard prune)",
        "validation accuracy",
        &[("before the hard prune", RED, &before)],
        &[("after the hard prune", BLUE, &retrain)],
        None,
    )?;
    println!(
        "{}: {} {} {:.2}x: accuracy {:.4} (validation) after the hard prune, test {:.4} after {} retraining epochs (dense start: test {:.4})",
        dir.display(),
        r.method,
        r.structure,
        r.compression_pruned_layers,
        r.accuracy_hard_prune.validation,
        r.test_accuracy,
        r.accuracy_per_epoch.len(),
        r.accuracy_start.test,
    );
    Ok(())
}

/// Median CPU latency (1 thread, one image) of the pruned model under its structure and of
/// the dense model it started from, timed in turns in this process.
fn latency(spec: &ModelSpec, pruned: &Pruned, dense: &Weights) -> Result<serde_json::Value> {
    let schedule = Schedule { threads: 1 };
    let dense_graph = spec.graph(1)?;
    let mut sparse_graph = dense_graph.clone();
    pruned.constraints.apply_to(&mut sparse_graph)?;
    let mut dense_exe = CpuRuntime.prepare(&dense_graph, dense, &schedule)?;
    let mut sparse_exe = CpuRuntime.prepare(&sparse_graph, &pruned.weights, &schedule)?;
    let (name, _, ty) = dense_graph
        .inputs_of_graph()
        .into_iter()
        .next()
        .context("LeNet-5 has an input")?;
    let n: usize = ty.shape.iter().product();
    let image = Tensor::new(ty.shape.clone(), (0..n).map(|i| (i % 17) as f32 / 17.0).collect())?;
    let inputs = BTreeMap::from([(name, image)]);
    let (mut d_err, mut s_err) = (None, None);
    let times = canao_cpu::bench::median_times(
        &mut [
            &mut || d_err = dense_exe.run(&inputs).err().or(d_err.take()),
            &mut || s_err = sparse_exe.run(&inputs).err().or(s_err.take()),
        ],
        50,
        Duration::from_millis(500),
    );
    if let Some(e) = d_err.or(s_err) {
        return Err(e.into());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(json!({
        "threads": 1, "batch": 1, "dense_ms": ms(times[0]), "pruned_ms": ms(times[1]),
        "speedup": times[0].as_secs_f64() / times[1].as_secs_f64().max(1e-12),
    }))
}
