//! `canao prune`: prunes a trained LeNet-5 (Fashion-MNIST, digits) or MiniLM classifier (Rotten
//! Tomatoes) to a structure at a compression rate by magnitude, ADMM, SLR, reweighted group
//! Lasso or dynamic regularisation, retrains with the mask fixed, and writes the pruned model as a run folder
//! (`model.ron`, `weights.safetensors` with zeros stored as zeros, `constraints.ron`) with
//! `report.json` (accuracies before and after the hard prune, per retraining epoch, at the end;
//! compression; CPU latency of the pruned and the dense model, measured in the same run) and
//! `retrain.svg`. `--resume DIR` continues a killed run; `prune.json` fixes its settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use canao_compress::{Rows, SlrParams, Structure};
use canao_ir::Weights;
use canao_models::MiniLm;
use canao_train::data::Task;
use canao_train::{GroupLassoParams, ModelSpec, PruneConfig, PruneMethod, Pruned, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::cmd::model::ModelKind;
use crate::cmd::prune_output;
use crate::cmd::train::{self, RunSettings, image_learner, text_learner};
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
    /// The model to prune: lenet5, or minilm (its encoder's linear weights; a hard prune never
    /// empties a whole row of tiles, so every output feature keeps weights).
    #[arg(long, value_enum, default_value = "lenet5")]
    model: ModelKind,
    /// irregular, filter, column, block:RxC or circulant:B (Ftrans: B x B circulant tiles).
    #[arg(long, default_value = "irregular")]
    structure: Structure,
    /// Compression of the pruned weights together: total over non-zero (default 8; circulant:B
    /// takes none, its compression is B).
    #[arg(long, allow_negative_numbers = true)]
    rate: Option<f64>,
    /// A `canao train` run folder of the model to prune (default: train one into OUT/dense).
    #[arg(long)]
    from: Option<PathBuf>,
    /// The task when no --from gives it (default: fashion-mnist for lenet5, rotten-tomatoes for
    /// minilm).
    #[arg(long)]
    task: Option<String>,
    /// Epochs of ADMM / SLR training before the hard prune.
    #[arg(long, default_value_t = 6)]
    epochs: usize,
    /// Epochs of retraining with the mask fixed.
    #[arg(long, default_value_t = 3)]
    retrain_epochs: usize,
    /// Peak learning rate of both phases (default: 1e-3 for lenet5, 3e-5 for minilm).
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
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
    /// Weights to prune, comma-separated (default: every convolution and linear weight of
    /// LeNet-5, for filter pruning all but the output layer's, whose rows are the classes, for
    /// circulant its dense layers'; every linear weight of MiniLM's encoder).
    #[arg(long, value_delimiter = ',')]
    layers: Vec<String>,
    /// Per-layer rates in place of --rate, NAME=R, comma-separated or repeated (e.g.
    /// conv1.w=2,fc1.w=40).
    #[arg(long, value_delimiter = ',', value_parser = parse_layer_rate, allow_negative_numbers = true)]
    layer_rate: Vec<(String, f64)>,
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
    #[serde(default = "lenet5")]
    model: ModelKind,
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
        let task = self.task_of_model()?;
        let text = task == Task::RottenTomatoes;
        let rate = self.rate_of_structure()?;
        let circulant = matches!(self.structure, Structure::Circulant { .. });
        let defaults = RunSettings::defaults(self.model, None, task, None, self.seed).train;
        let phase = |epochs: usize| TrainConfig {
            epochs,
            lr: self.lr.unwrap_or(if text { 3e-5 } else { 1e-3 }),
            warmup: 0.0,
            patience: epochs,
            ..defaults
        };
        let candidates = self.candidate_weights()?;
        let config = PruneConfig {
            method: self.method()?,
            structure: self.structure,
            rate,
            rho: self.rho,
            split: phase(self.epochs),
            retrain: phase(self.retrain_epochs),
            layers: self.pruned_layers(&candidates),
            rows: if text { Rows::EachKept } else { Rows::Any },
            layer_rates: self.layer_rate.iter().cloned().collect(),
        };
        if config.method != PruneMethod::Magnitude {
            config.split.validate()?;
        }
        config.retrain.validate()?;
        // The rate is checked against the model's weights before any training starts.
        let layers = canao_train::prune::layers(&config, &candidates)?;
        for layer in layers.iter().filter(|_| !circulant) {
            layer.kept(&vec![1.0; layer.structure.groups(layer.shape)])?;
        }
        Ok(Settings {
            model: self.model,
            from: self.from.clone(),
            task,
            train_limit: self.train_limit,
            seed: self.seed,
            config,
        })
    }

    /// The task, checked against the model and the structure (errors name the flag).
    fn task_of_model(&self) -> Result<Task> {
        if self.model == ModelKind::Minilm && self.structure == Structure::Filter {
            bail!(
                "--structure filter removes whole output rows of MiniLM's matrices; it takes irregular, column or block:RxC"
            );
        }
        let task: Task = match (&self.from, &self.task, self.model) {
            (Some(dir), _, _) => dense_run(dir, self.model)?.run.task,
            (None, Some(task), _) => task.parse()?,
            (None, None, ModelKind::Minilm) => Task::RottenTomatoes,
            (None, None, ModelKind::Lenet5) => Task::FashionMnist,
        };
        let fits = match self.model {
            ModelKind::Minilm => "rotten-tomatoes",
            ModelKind::Lenet5 => "fashion-mnist or digits",
        };
        if (task == Task::RottenTomatoes) != (self.model == ModelKind::Minilm) {
            bail!("--task {}: {} takes {fits}", task.name(), model_name(self.model));
        }
        Ok(task)
    }

    /// The rate: --rate (default 8) for the structures that drop groups; circulant:B's is B,
    /// and it takes no group-Lasso method.
    fn rate_of_structure(&self) -> Result<f64> {
        let Structure::Circulant { block } = self.structure else {
            return Ok(self.rate.unwrap_or(8.0));
        };
        if self.rate.is_some() {
            bail!("--rate: circulant:{block} compresses each weight {block} times (less on padded edges); drop --rate");
        }
        if matches!(self.method, MethodKind::Reweighted | MethodKind::Dynamic) {
            bail!(
                "--method {}: group Lasso drives groups to zero and circulant keeps every tile; use magnitude, admm or slr",
                format!("{:?}", self.method).to_lowercase()
            );
        }
        Ok(block as f64)
    }

    /// --layers, or the model's and structure's default (empty: every weight of 2+ dimensions).
    fn pruned_layers(&self, candidates: &Weights) -> Vec<String> {
        match (self.layers.is_empty(), self.model, self.structure) {
            (false, _, _) => self.layers.clone(),
            (true, ModelKind::Minilm, _) => canao_models::prunable(candidates),
            // Whole rows of the output layer are whole classes: filter pruning keeps them.
            (true, ModelKind::Lenet5, Structure::Filter) => HIDDEN.map(String::from).to_vec(),
            // The CPU backend runs circulant tiles in dense layers.
            (true, ModelKind::Lenet5, Structure::Circulant { .. }) => {
                ["fc1.w", "fc2.w", "fc3.w"].map(String::from).to_vec()
            }
            (true, ModelKind::Lenet5, _) => Vec::new(),
        }
    }

    /// Weights of the model's shapes to check the layers and the rate against.
    fn candidate_weights(&self) -> Result<Weights> {
        Ok(match self.model {
            ModelKind::Lenet5 => canao_train::init_lenet(&Default::default(), 0)?,
            ModelKind::Minilm => {
                let say = &mut |line: &str| eprintln!("{line}");
                MiniLm::from_cache(&canao_models::assets::canao_home(), say)?
                    .weights()
                    .clone()
            }
        })
    }

    fn method(&self) -> Result<PruneMethod> {
        Ok(match self.method {
            MethodKind::Magnitude => PruneMethod::Magnitude,
            MethodKind::Admm => PruneMethod::Admm {
                interval: self.interval,
            },
            MethodKind::Slr => PruneMethod::Slr(SlrParams::default()),
            MethodKind::Reweighted => self.group_lasso(GroupLassoParams::reweighted())?,
            MethodKind::Dynamic => self.group_lasso(GroupLassoParams::dynamic())?,
        })
    }
}

fn parse_layer_rate(s: &str) -> std::result::Result<(String, f64), String> {
    let (name, rate) = s.split_once('=').ok_or_else(|| format!("`{s}` is not NAME=RATE"))?;
    let rate: f64 = rate.parse().map_err(|_| format!("`{rate}` in `{s}` is not a number"))?;
    Ok((name.to_string(), rate))
}

fn model_name(model: ModelKind) -> &'static str {
    match model {
        ModelKind::Lenet5 => "lenet5",
        ModelKind::Minilm => "minilm",
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

/// Runs written before MiniLM could be pruned were LeNet-5 runs.
fn lenet5() -> ModelKind {
    ModelKind::Lenet5
}

fn default_dir(s: &Settings) -> PathBuf {
    let c = &s.config;
    let structure = c.structure.to_string().replace(':', "");
    PathBuf::from("results").join(format!(
        "prune-{}-{}-{structure}-{}x-seed{}-{}",
        model_name(s.model),
        c.method.name(),
        c.rate,
        s.seed,
        crate::cmd::search_setup::timestamp()
    ))
}

fn read_settings(dir: &Path) -> Result<Settings> {
    let path = dir.join("prune.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A `canao train` run folder: its model, trained weights and settings.
struct DenseRun {
    spec: ModelSpec,
    weights: Weights,
    run: RunSettings,
}

/// The trained `model` of a `canao train` run folder.
fn dense_run(dir: &Path, model: ModelKind) -> Result<DenseRun> {
    let spec_file = dir.join("model.ron");
    if !spec_file.exists() {
        bail!("{} is not a `canao train` run folder (no model.ron)", dir.display());
    }
    let spec = ModelSpec::load(&spec_file)?;
    let holds = match &spec {
        ModelSpec::LeNet { .. } => ModelKind::Lenet5,
        ModelSpec::BertClassifier { .. } => ModelKind::Minilm,
    };
    if holds != model {
        bail!(
            "{} holds a {} run; --model {} prunes a {} run",
            dir.display(),
            model_name(holds),
            model_name(model),
            model_name(model)
        );
    }
    let run: RunSettings = serde_json::from_str(&std::fs::read_to_string(dir.join("run.json"))?)
        .with_context(|| format!("parsing {}", dir.join("run.json").display()))?;
    let weights = canao_train::checkpoint::read_weights(&dir.join("weights.safetensors"))?;
    spec.check(&weights)?;
    Ok(DenseRun { spec, weights, run })
}

fn execute(dir: &Path, s: &Settings, resume: bool) -> Result<()> {
    let from = match &s.from {
        Some(from) => from.clone(),
        None => train_dense(dir, s, resume)?,
    };
    let dense = dense_run(&from, s.model)?;
    let device = Device::flex().autodiff();
    // The pruning run trains on its own --train-limit over the dense run's split and tokens.
    let run = RunSettings {
        train_limit: s.train_limit,
        ..dense.run.clone()
    };
    let pruned = match &dense.spec {
        ModelSpec::LeNet { .. } => {
            let (learner, _) = image_learner(s.task, s.train_limit, device.clone())?;
            prune_with(&learner, dir, s, &dense.weights, &device, resume)?
        }
        ModelSpec::BertClassifier { arch, .. } => {
            let say = &mut |line: &str| eprintln!("{line}");
            let minilm = MiniLm::from_cache(&canao_models::assets::canao_home(), say)?;
            let learner = text_learner(minilm.tokenizer(), arch.clone(), &run, device.clone())?;
            prune_with(&learner, dir, s, &dense.weights, &device, resume)?
        }
    };
    prune_output::write(dir, s, &dense.spec, run.max_tokens, &pruned, &dense.weights)
}

/// Prunes with a progress bar per phase.
fn prune_with<L: canao_train::Learner>(
    learner: &L,
    dir: &Path,
    s: &Settings,
    weights: &Weights,
    device: &Device,
    resume: bool,
) -> Result<Pruned> {
    let mut bars: BTreeMap<String, TrainBar> = BTreeMap::new();
    let mut progress = |phase: &str, p: &canao_train::Progress| {
        bars.entry(phase.to_string())
            .or_insert_with(|| train_report::bar(&dir.join(phase)))
            .update(p);
    };
    let pruned = canao_train::prune(learner, weights, &s.config, device, dir, resume, &mut progress)?;
    for (_, bar) in bars {
        bar.finish();
    }
    Ok(pruned)
}

/// Trains the dense model the run prunes into `dir/dense` (resumed when a killed run left one).
fn train_dense(dir: &Path, s: &Settings, resume: bool) -> Result<PathBuf> {
    let dense = dir.join("dense");
    let mut settings = RunSettings::defaults(s.model, None, s.task, None, s.seed);
    settings.train_limit = s.train_limit;
    if !dense.join("weights.safetensors").exists() {
        train::train_run(&dense, &settings, resume && dense.join("run.json").exists())?;
    }
    Ok(dense)
}
