//! `canao gnn robust`: train a GCN min-max against an attack at a budget, then attack it with an
//! attack adapted to it (the attacker targets the robust model itself), beside a normal model of
//! the same seed under the same attack. Reports clean and attacked accuracy and what training cost.

use std::path::PathBuf;

use anyhow::Result;
use canao_gnn::Adjacency;
use canao_gnn::attack::{AttackMethod, budget_flips};
use canao_gnn::experiment::{Training, attack_test_nodes, evasion_accuracy, train};
use serde_json::json;

use super::{DataArgs, RunArgs, check_or_write_config, out_dir, parse_budget, parse_method};
use crate::cmd::plot::{PALETTE, xy};
use crate::cmd::train_report::write_atomic;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// The inner maximisation: pgd, greedy or zeroth-order.
    #[arg(long, value_parser = parse_method)]
    method: AttackMethod,
    /// Training budget, as a share of the edges.
    #[arg(long, value_parser = parse_budget, default_value = "0.1", allow_negative_numbers = true)]
    budget: f64,
    /// The attack the trained model is evaluated under, and its budget (default: the training
    /// budget).
    #[arg(long, value_parser = parse_method, default_value = "pgd")]
    eval_attack: AttackMethod,
    #[arg(long, value_parser = parse_budget, allow_negative_numbers = true)]
    eval_budget: Option<f64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunArgs,
    /// Run folder (default results/gnn-robust-<dataset>-<method>-<budget>).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One model's line of the report.
#[derive(Debug, serde::Serialize)]
struct ModelRow {
    model: &'static str,
    clean_accuracy: f64,
    accuracy: f64,
    attack_s: f64,
    train_s: f64,
    inner_max_s: f64,
}

pub fn run(a: Args) -> Result<()> {
    let data = a.data.load()?;
    let (train_config, attack_config) = a.run.configs()?;
    let eval_budget = a.eval_budget.unwrap_or(a.budget);
    let dir = out_dir(
        a.out.as_deref(),
        &format!("gnn-robust-{}-{}-{}", data.name, a.method.name(), a.budget),
    )?;
    let resolved = json!({
        "dataset": a.data.dataset, "flips": a.data.flips, "method": a.method, "budget": a.budget,
        "eval_attack": a.eval_attack, "eval_budget": eval_budget, "seed": a.seed,
        "train": train_config, "attack": attack_config,
    });
    check_or_write_config(&dir, &resolved)?;
    let edges = data.graph.edge_count();
    eprintln!(
        "robust training against {} at {} % ({} epochs)",
        a.method.name(),
        100.0 * a.budget,
        train_config.epochs
    );
    let robust = train(
        Training::Robust(a.method),
        &data,
        &train_config,
        &attack_config,
        budget_flips(a.budget, edges)?,
        a.seed,
    )?;
    let normal = train(Training::Normal, &data, &train_config, &attack_config, 0, a.seed)?;
    let eval_flips = budget_flips(eval_budget, edges)?;
    let mut rows: Vec<ModelRow> = Vec::new();
    for (name, trained) in [("robust", &robust), ("normal", &normal)] {
        eprintln!(
            "attacking the {name} model: {} at {} %",
            a.eval_attack.name(),
            100.0 * eval_budget
        );
        let (pairs, attack_s) =
            attack_test_nodes(&trained.model, &data, a.eval_attack, &attack_config, eval_flips, a.seed);
        if name == "robust" {
            canao_gnn::flips::write(&dir.join("flips.csv"), &pairs)?;
        }
        rows.push(ModelRow {
            model: name,
            clean_accuracy: evasion_accuracy(&trained.model, &data, &[])?,
            accuracy: evasion_accuracy(&trained.model, &data, &pairs)?,
            attack_s,
            train_s: trained.cost.wall_s,
            inner_max_s: trained.cost.inner_s,
        });
    }
    super::train::save_model(&dir, &robust.model, &Adjacency::new(&data.graph), &data)?;
    let curve = |t: &canao_gnn::experiment::Trained| {
        t.logs
            .iter()
            .map(|l| (l.epoch as f64, l.val_accuracy))
            .collect::<Vec<_>>()
    };
    let (rc, nc) = (curve(&robust), curve(&normal));
    let title = format!(
        "GCN on {}: clean validation accuracy, robust ({}) vs normal",
        data.name,
        a.method.name()
    );
    xy(
        &dir.join("curve.svg"),
        &title,
        "epoch",
        "validation accuracy",
        &[],
        &[("robust", PALETTE[0], &rc), ("normal", PALETTE[1], &nc)],
        None,
    )?;
    let report = json!({"dataset": data.name, "models": rows, "run": resolved});
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    crate::cmd::report::refresh(&dir);
    for r in &rows {
        println!(
            "{}: clean {:.2} %, under {} at {} %: {:.2} % (training {:.1} s, of which inner max {:.1} s)",
            r.model,
            100.0 * r.clean_accuracy,
            a.eval_attack.name(),
            100.0 * eval_budget,
            100.0 * r.accuracy,
            r.train_s,
            r.inner_max_s,
        );
    }
    eprintln!("-> {}", dir.display());
    Ok(())
}
