//! `canao gnn train|attack|robust|eval`: GCNs on citation graphs, edge-flip attacks and robust
//! training (canao-gnn), each writing a run folder with its config, log, report and plots.

mod attack;
mod eval;
mod eval_report;
mod robust;
mod synth;
mod train;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use canao_gnn::attack::{AttackConfig, AttackMethod};
use canao_gnn::train::Keep;
use canao_gnn::{Dataset, TrainConfig};
use clap::Subcommand;

use crate::cmd::run_dir::{self, out_dir};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: GnnCommand,
}

#[derive(Debug, Subcommand)]
enum GnnCommand {
    /// Train two-layer GCNs over seeds (Kipf and Welling's setup) and report test accuracy.
    Train(train::Args),
    /// Attack a normally trained GCN's graph with edge flips under a budget.
    Attack(attack::Args),
    /// Train a GCN min-max against an attack, then attack it.
    Robust(robust::Args),
    /// The whole table: every attack at every budget against normal and robust models over
    /// seeds (evasion, poisoning, transfer); resumable.
    Eval(eval::Args),
    /// Write a synthetic citation graph (PubMed's size by default) for scale runs.
    Synth(synth::Args),
}

pub fn run(a: Args) -> Result<()> {
    match a.command {
        GnnCommand::Train(a) => train::run(a),
        GnnCommand::Attack(a) => attack::run(a),
        GnnCommand::Robust(a) => robust::run(a),
        GnnCommand::Eval(a) => eval::run(a),
        GnnCommand::Synth(a) => synth::run(a),
    }
}

/// Which graph, and a perturbation to apply to it first.
#[derive(Debug, Clone, clap::Args)]
struct DataArgs {
    /// `cora`, `citeseer` (from ../shared/datasets, or $CANAO_DATASETS) or a safetensors file
    /// in the same layout.
    #[arg(long, default_value = "cora")]
    dataset: String,
    /// A perturbation (`flips.csv`: one `u,v` pair per line) applied to the graph before
    /// anything else: training on it is a poisoning evaluation.
    #[arg(long, value_name = "FILE")]
    flips: Option<PathBuf>,
}

impl DataArgs {
    fn load(&self) -> Result<Dataset> {
        let path = dataset_path(&self.dataset)?;
        let data = Dataset::load(&path)?;
        if data.edge_layout == canao_gnn::dataset::EdgeLayout::Pairs {
            eprintln!(
                "note: {}: edge_index holds (u, v) pairs under its [2, E] header; read as pairs",
                path.display()
            );
        }
        match &self.flips {
            Some(f) => {
                let flips = canao_gnn::flips::read(f, &data.graph)?;
                eprintln!("applied {} flips from {}", flips.len(), f.display());
                Ok(canao_gnn::experiment::perturbed(&data, &flips)?)
            }
            None => Ok(data),
        }
    }
}

/// A dataset by name (the shared Planetoid files) or path.
fn dataset_path(name: &str) -> Result<PathBuf> {
    if !matches!(name, "cora" | "citeseer") {
        let p = PathBuf::from(name);
        if !p.is_file() {
            bail!("dataset `{name}` is neither cora, citeseer nor a file");
        }
        return Ok(p);
    }
    let file = format!("{name}.safetensors");
    let mut tried = Vec::new();
    if let Some(dir) = std::env::var_os("CANAO_DATASETS") {
        tried.push(PathBuf::from(dir).join(&file));
    }
    // Beside the checkout this binary was built from, then beside the working folder's.
    tried.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/datasets")
            .join(&file),
    );
    tried.push(PathBuf::from("../shared/datasets").join(&file));
    match tried.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => {
            let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            bail!(
                "{file} not found; looked at {} (set CANAO_DATASETS to its folder)",
                list.join(", ")
            )
        }
    }
}

/// The training and attack settings of the subcommands that train and attack.
#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    train: TrainArgs,
    #[command(flatten)]
    attack: AttackArgs,
}

impl RunArgs {
    fn configs(&self) -> Result<(TrainConfig, AttackConfig)> {
        Ok((self.train.config()?, self.attack.config()?))
    }
}

/// Training settings shared by the subcommands.
#[derive(Debug, Clone, clap::Args)]
struct TrainArgs {
    /// Epochs (full-batch Adam steps).
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Hidden width.
    #[arg(long, default_value_t = 16)]
    hidden: usize,
    /// Which epoch's weights to keep: best-validation (highest validation accuracy) or last.
    #[arg(long, default_value = "best-validation", value_parser = parse_keep)]
    keep: Keep,
}

impl TrainArgs {
    fn config(&self) -> Result<TrainConfig> {
        let c = TrainConfig {
            hidden: self.hidden,
            epochs: self.epochs,
            keep: self.keep,
            ..TrainConfig::default()
        };
        c.check()?;
        Ok(c)
    }
}

fn parse_keep(s: &str) -> std::result::Result<Keep, String> {
    match s {
        "best-validation" => Ok(Keep::BestValidation),
        "last" => Ok(Keep::Last),
        _ => Err(format!("`{s}`: one of best-validation, last")),
    }
}

/// Attack settings shared by the subcommands (the rest keep their defaults; see
/// `canao_gnn::attack::AttackConfig`).
#[derive(Debug, Clone, clap::Args)]
struct AttackArgs {
    /// PGD steps.
    #[arg(long, default_value_t = AttackConfig::default().pgd_steps)]
    pgd_steps: usize,
    /// Greedy rounds over which the budget is spent.
    #[arg(long, default_value_t = AttackConfig::default().greedy_rounds)]
    greedy_rounds: usize,
    /// Zeroth-order iterations and queries (directions) per iteration.
    #[arg(long, default_value_t = AttackConfig::default().zo_steps)]
    zo_steps: usize,
    #[arg(long, default_value_t = AttackConfig::default().zo_queries)]
    zo_queries: usize,
    /// Most candidate pairs held at once (all pairs if the graph has fewer).
    #[arg(long, default_value_t = AttackConfig::default().block)]
    block: usize,
    /// Robust training: inner PGD / zeroth-order steps per epoch.
    #[arg(long, default_value_t = AttackConfig::default().inner_steps)]
    inner_steps: usize,
}

impl AttackArgs {
    fn config(&self) -> Result<AttackConfig> {
        for (name, v) in [
            ("--pgd-steps", self.pgd_steps),
            ("--greedy-rounds", self.greedy_rounds),
            ("--zo-steps", self.zo_steps),
            ("--zo-queries", self.zo_queries),
            ("--block", self.block),
            ("--inner-steps", self.inner_steps),
        ] {
            if v == 0 {
                bail!("{name} must be positive");
            }
        }
        Ok(AttackConfig {
            pgd_steps: self.pgd_steps,
            greedy_rounds: self.greedy_rounds,
            zo_steps: self.zo_steps,
            zo_queries: self.zo_queries,
            block: self.block,
            inner_steps: self.inner_steps,
            ..AttackConfig::default()
        })
    }
}

fn parse_method(s: &str) -> std::result::Result<AttackMethod, String> {
    s.parse()
}

/// A budget as a share of the edges, in [0, 1].
fn parse_budget(s: &str) -> std::result::Result<f64, String> {
    let b: f64 = s.parse().map_err(|_| format!("budget `{s}` is not a number"))?;
    if !(0.0..=1.0).contains(&b) {
        return Err(format!("budget {b} is outside [0, 1] (a share of the edges)"));
    }
    Ok(b)
}

/// Mean and sample standard deviation.
fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// `config.json` of a run folder (see [`run_dir::check_or_write_config`]); `seeds` may differ:
/// results are kept per seed, so a rerun with more seeds extends the run and one with fewer
/// reports a subset.
fn check_or_write_config(dir: &Path, resolved: &serde_json::Value) -> Result<()> {
    run_dir::check_or_write_config(dir, resolved, &["seeds"])
}
