//! `canao gnn train`: GCNs over seeds, test accuracy with mean and sd, the validation curves,
//! the first seed's model as IR weights, and that model run through an IR backend as a check.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use canao_gnn::ir::to_ir;
use canao_gnn::loss::predictions;
use canao_gnn::train::{EpochLog, evaluate};
use canao_gnn::{Adjacency, Dataset, Gcn, Trainer};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{DataArgs, TrainArgs, check_or_write_config, mean_sd, out_dir};
use crate::cmd::backend::{Backend, run_graph};
use crate::cmd::plot::xy;
use crate::cmd::train_report::write_atomic;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    train: TrainArgs,
    /// Seeds 0..N.
    #[arg(long, default_value_t = 10)]
    seeds: u64,
    /// Backend the first seed's model runs on through the IR, checked against the trainer's
    /// own forward pass.
    #[arg(long, value_enum, default_value = "cpu")]
    check_backend: Backend,
    /// Run folder (default results/gnn-train-<dataset>); seeds already in it are kept.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One seed's result, a line of `seeds.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SeedResult {
    seed: u64,
    test_accuracy: f64,
    best_val_accuracy: f64,
    epochs: Vec<EpochLog>,
    wall_s: f64,
}

pub fn run(a: Args) -> Result<()> {
    let data = a.data.load()?;
    let config = a.train.config()?;
    let dir = out_dir(a.out.as_deref(), &format!("gnn-train-{}", data.name))?;
    let resolved = json!({"dataset": a.data.dataset, "flips": a.data.flips, "config": config, "seeds": a.seeds});
    check_or_write_config(&dir, &resolved)?;
    let adj = Adjacency::new(&data.graph);
    let mut done: Vec<SeedResult> = super::eval::read_jsonl(&dir.join("seeds.jsonl"))?;
    let bar = ProgressBar::new(a.seeds * config.epochs as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} epochs, {elapsed} (eta {eta}) {msg}")
            .expect("a valid template"),
    );
    let mut first: Option<Gcn> = None;
    for seed in 0..a.seeds {
        if done.iter().any(|r| r.seed == seed) && seed > 0 {
            bar.inc(config.epochs as u64);
            continue;
        }
        let start = Instant::now();
        let mut trainer = Trainer::new(&data, config.clone(), seed)?;
        let epochs = trainer.fit(&data, &adj, |log| {
            bar.inc(1);
            bar.set_message(format!("seed {seed} val {:.3}", log.val_accuracy));
        });
        let result = SeedResult {
            seed,
            test_accuracy: evaluate(&trainer.model, &adj, &data, &data.test),
            best_val_accuracy: epochs.iter().map(|l| l.val_accuracy).fold(0.0, f64::max),
            epochs,
            wall_s: start.elapsed().as_secs_f64(),
        };
        if seed == 0 {
            first = Some(trainer.model);
        }
        if !done.iter().any(|r| r.seed == seed) {
            super::eval::append(&dir.join("seeds.jsonl"), &result)?;
            done.push(result);
        }
    }
    bar.finish_and_clear();
    done.retain(|r| r.seed < a.seeds);
    done.sort_by_key(|r| r.seed);
    let model = first.expect("seed 0 always trains (it is cheap and gives the saved model)");
    let check = backend_check(&model, &adj, &data, a.check_backend)?;
    save_model(&dir, &model, &adj, &data)?;
    write_report(&dir, &data, &done, &resolved, check)
}

/// The model through the IR on `backend` against the trainer's forward: largest logit
/// difference and the share of nodes with the same predicted class.
fn backend_check(model: &Gcn, adj: &Adjacency, data: &Dataset, backend: Backend) -> Result<serde_json::Value> {
    let (graph, weights, inputs) = to_ir(model, adj, &data.features)?;
    let want = model.logits(adj, &data.features);
    let got = run_graph(backend, 1, &graph, &weights, &inputs)?.remove(0).into_data();
    let max_diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let (p, q) = (predictions(&got, data.classes), predictions(&want, data.classes));
    let same = p.iter().zip(&q).filter(|(a, b)| a == b).count() as f64 / p.len() as f64;
    eprintln!(
        "IR on {}: max |logit difference| {max_diff:.2e}, same prediction on {:.2} % of nodes",
        backend.name(),
        100.0 * same
    );
    Ok(json!({"backend": backend.name(), "max_abs_logit_diff": max_diff, "same_prediction": same}))
}

/// The first seed's model: IR weights (the adjacency included) as safetensors.
pub(super) fn save_model(dir: &Path, model: &Gcn, adj: &Adjacency, data: &Dataset) -> Result<()> {
    let (_, weights, _) = to_ir(model, adj, &data.features)?;
    let dense: std::collections::BTreeMap<String, canao_tensor::Tensor> = ["gc1.w", "gc1.b", "gc2.w", "gc2.b"]
        .into_iter()
        .map(|n| Ok((n.to_string(), weights.dense(n)?.clone())))
        .collect::<Result<_>>()?;
    let tmp = dir.join(".weights.safetensors.tmp");
    canao_tensor::write_safetensors(&tmp, &dense)?;
    std::fs::rename(&tmp, dir.join("weights.safetensors")).context("writing weights.safetensors")?;
    Ok(())
}

fn write_report(
    dir: &Path,
    data: &Dataset,
    seeds: &[SeedResult],
    resolved: &serde_json::Value,
    check: serde_json::Value,
) -> Result<()> {
    let accs: Vec<f64> = seeds.iter().map(|r| r.test_accuracy).collect();
    let (mean, sd) = mean_sd(&accs);
    let reference = match data.name.as_str() {
        "cora" => Some(0.815),
        "citeseer" => Some(0.703),
        _ => None,
    };
    let report = json!({
        "dataset": data.name,
        "nodes": data.nodes(),
        "edges": data.graph.edge_count(),
        "edge_layout": data.edge_layout,
        "run": resolved,
        "test_accuracy": {"mean": mean, "sd": sd, "per_seed": accs},
        "kipf_welling_reference": reference,
        "wall_s": seeds.iter().map(|r| r.wall_s).sum::<f64>(),
        "ir_check": check,
    });
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    let curves: Vec<(String, Vec<(f64, f64)>)> = seeds
        .iter()
        .take(10)
        .map(|r| {
            (
                format!("seed {}", r.seed),
                r.epochs.iter().map(|l| (l.epoch as f64, l.val_accuracy)).collect(),
            )
        })
        .collect();
    let colors = crate::cmd::plot::PALETTE;
    let series: Vec<_> = curves
        .iter()
        .enumerate()
        .map(|(i, (n, p))| (n.as_str(), colors[i % colors.len()], p.as_slice()))
        .collect();
    xy(
        &dir.join("curve.svg"),
        &format!("GCN on {}: validation accuracy", data.name),
        "epoch",
        "validation accuracy",
        &[],
        &series,
        None,
    )?;
    crate::cmd::report::refresh(dir);
    println!(
        "{}: test accuracy {:.2} +/- {:.2} % over {} seeds{} -> {}",
        data.name,
        100.0 * mean,
        100.0 * sd,
        accs.len(),
        reference.map_or(String::new(), |r| format!(" (Kipf and Welling: {:.1} %)", 100.0 * r)),
        dir.display()
    );
    Ok(())
}
