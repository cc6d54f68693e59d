//! `canao gnn attack`: train a normal GCN (one seed), attack its test nodes with edge flips under
//! a budget, and report the accuracy before and after (evasion: the same model on the perturbed
//! graph; poisoning: a model retrained on it). The flips go to `flips.csv`.

use std::path::PathBuf;

use anyhow::Result;
use canao_gnn::attack::{AttackMethod, budget_flips};
use canao_gnn::experiment::{Training, attack_test_nodes, evasion_accuracy, poisoning_accuracy, train};
use serde_json::json;

use super::{DataArgs, RunArgs, check_or_write_config, out_dir, parse_budget, parse_method};
use crate::cmd::train_report::write_atomic;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The trained model meets the perturbed graph at test time.
    Evasion,
    /// A model is trained from scratch on the perturbed graph.
    Poisoning,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// pgd, greedy or zeroth-order.
    #[arg(long, value_parser = parse_method)]
    method: AttackMethod,
    /// Flips allowed, as a share of the graph's edges.
    #[arg(long, value_parser = parse_budget, allow_negative_numbers = true)]
    budget: f64,
    #[arg(long, value_enum, default_value = "evasion")]
    mode: Mode,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunArgs,
    /// Run folder (default results/gnn-attack-<dataset>-<method>-<budget>-<mode>).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<()> {
    let data = a.data.load()?;
    let (train_config, attack_config) = a.run.configs()?;
    let default = format!("gnn-attack-{}-{}-{}-{:?}", data.name, a.method.name(), a.budget, a.mode).to_lowercase();
    let dir = out_dir(a.out.as_deref(), &default)?;
    let resolved = json!({
        "dataset": a.data.dataset, "flips": a.data.flips, "method": a.method, "budget": a.budget,
        "mode": a.mode, "seed": a.seed, "train": train_config, "attack": attack_config,
    });
    check_or_write_config(&dir, &resolved)?;
    let flips = budget_flips(a.budget, data.graph.edge_count())?;
    eprintln!("training the normal model (seed {})", a.seed);
    let normal = train(Training::Normal, &data, &train_config, &attack_config, 0, a.seed)?;
    eprintln!(
        "{} attack, {flips} flips ({} % of {} edges)",
        a.method.name(),
        100.0 * a.budget,
        data.graph.edge_count()
    );
    let (pairs, attack_s) = attack_test_nodes(&normal.model, &data, a.method, &attack_config, flips, a.seed);
    let clean = evasion_accuracy(&normal.model, &data, &[])?;
    let accuracy = match a.mode {
        Mode::Evasion => evasion_accuracy(&normal.model, &data, &pairs)?,
        Mode::Poisoning => poisoning_accuracy(&data, &train_config, &pairs, a.seed)?,
    };
    canao_gnn::flips::write(&dir.join("flips.csv"), &pairs)?;
    let added = pairs.iter().filter(|&&(u, v)| !data.graph.has_edge(u, v)).count();
    let report = json!({
        "dataset": data.name, "method": a.method, "mode": a.mode, "budget": a.budget,
        "flips": pairs.len(), "budget_flips": flips, "added": added, "removed": pairs.len() - added,
        "clean_accuracy": clean, "accuracy": accuracy, "attack_s": attack_s, "run": resolved,
    });
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    crate::cmd::report::refresh(&dir);
    println!(
        "{} {:?} at {} %: accuracy {:.2} % -> {:.2} % ({} flips: {added} added, {} removed; attack {attack_s:.1} s) -> {}",
        a.method.name(),
        a.mode,
        100.0 * a.budget,
        100.0 * clean,
        100.0 * accuracy,
        pairs.len(),
        pairs.len() - added,
        dir.display()
    );
    Ok(())
}
