//! The `canao gnn eval` table: mean and sd over seeds per (model, attack, budget, setting), as
//! `table.md`, `report.json`, and one plot per attack of accuracy against budget.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use canao_gnn::Dataset;
use canao_gnn::attack::AttackMethod;
use canao_gnn::experiment::Training;
use serde_json::json;

use super::eval::{Cell, ModelLine, Setting};
use super::mean_sd;
use crate::cmd::plot::{PALETTE, xy};
use crate::cmd::train_report::write_atomic;

/// Mean, sd and count of the accuracies of the cells matching.
fn stat(
    cells: &[Cell],
    training: Training,
    attack: AttackMethod,
    budget: f64,
    setting: Setting,
) -> Option<(f64, f64, usize)> {
    let xs: Vec<f64> = cells
        .iter()
        .filter(|c| c.training == training && c.attack == attack && c.budget == budget && c.setting == setting)
        .map(|c| c.accuracy)
        .collect();
    (!xs.is_empty()).then(|| {
        let (m, s) = mean_sd(&xs);
        (m, s, xs.len())
    })
}

fn clean(models: &[ModelLine], training: Training) -> Option<(f64, f64, usize)> {
    let xs: Vec<f64> = models
        .iter()
        .filter(|m| m.training == training)
        .map(|m| m.clean_accuracy)
        .collect();
    (!xs.is_empty()).then(|| {
        let (m, s) = mean_sd(&xs);
        (m, s, xs.len())
    })
}

fn pct((m, s, n): (f64, f64, usize)) -> String {
    format!("{:.1} ± {:.1} ({n})", 100.0 * m, 100.0 * s)
}

/// The models and attacks present, in first-seen order.
fn present<T: PartialEq + Copy>(cells: &[Cell], f: impl Fn(&Cell) -> T) -> Vec<T> {
    let mut out = Vec::new();
    for c in cells {
        if !out.contains(&f(c)) {
            out.push(f(c));
        }
    }
    out
}

pub fn write(
    dir: &Path,
    data: &Dataset,
    budgets: &[f64],
    cells: &[Cell],
    models: &[ModelLine],
    run: &serde_json::Value,
) -> Result<()> {
    let trainings = present(cells, |c| c.training);
    let attacks = present(cells, |c| c.attack);
    let mut md = format!(
        "# GCN on {}: test accuracy (%) under edge-flip attacks, mean ± sd (seeds)\n\n",
        data.name
    );
    let mut rows = Vec::new();
    for &attack in &attacks {
        let _ = writeln!(md, "## {}\n", attack.name());
        let header: String = budgets.iter().map(|b| format!(" {} % |", 100.0 * b)).collect();
        let _ = writeln!(md, "| model | setting | clean |{header}");
        let _ = writeln!(md, "|---|---|---|{}", "---|".repeat(budgets.len()));
        for &training in &trainings {
            for setting in [Setting::Evasion, Setting::Poisoning, Setting::Transfer] {
                let stats: Vec<_> = budgets
                    .iter()
                    .map(|&b| stat(cells, training, attack, b, setting))
                    .collect();
                if stats.iter().all(Option::is_none) {
                    continue;
                }
                let line: String = stats
                    .iter()
                    .map(|s| format!(" {} |", s.map_or("-".into(), pct)))
                    .collect();
                let c = clean(models, training).map_or("-".into(), pct);
                let _ = writeln!(md, "| {} | {} | {c} |{line}", training.name(), setting_name(setting));
                for (&b, s) in budgets.iter().zip(&stats) {
                    if let Some((m, sd, n)) = s {
                        rows.push(json!({"training": training, "attack": attack, "setting": setting, "budget": b, "accuracy": m, "sd": sd, "seeds": n}));
                    }
                }
            }
        }
        md.push('\n');
        plot_attack(dir, data, attack, budgets, cells, models, &trainings)?;
    }
    let costs: Vec<_> = trainings
        .iter()
        .map(|&t| {
            let ms: Vec<&ModelLine> = models.iter().filter(|m| m.training == t).collect();
            let n = ms.len().max(1) as f64;
            json!({"training": t, "clean_accuracy": clean(models, t).map(|c| c.0),
                   "train_s": ms.iter().map(|m| m.train_s).sum::<f64>() / n,
                   "inner_max_s": ms.iter().map(|m| m.inner_max_s).sum::<f64>() / n})
        })
        .collect();
    let _ = writeln!(
        md,
        "Training cost per model (mean s): {}",
        costs
            .iter()
            .map(|c| format!(
                "{} {:.1} s",
                c["training"].as_str().unwrap_or("?"),
                c["train_s"].as_f64().unwrap_or(0.0)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    write_atomic(&dir.join("table.md"), md.as_bytes())?;
    let report = json!({"dataset": data.name, "rows": rows, "models": costs, "run": run});
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    crate::cmd::report::refresh(dir);
    print!("{md}");
    eprintln!("-> {}", dir.display());
    Ok(())
}

fn setting_name(s: Setting) -> &'static str {
    match s {
        Setting::Evasion => "evasion (adaptive)",
        Setting::Poisoning => "poisoning",
        Setting::Transfer => "transfer from normal",
    }
}

/// Accuracy against budget for one attack: each model's adaptive evasion curve (from its clean
/// accuracy at 0) and the normal model's poisoning curve.
fn plot_attack(
    dir: &Path,
    data: &Dataset,
    attack: AttackMethod,
    budgets: &[f64],
    cells: &[Cell],
    models: &[ModelLine],
    trainings: &[Training],
) -> Result<()> {
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for &t in trainings {
        for setting in [Setting::Evasion, Setting::Poisoning] {
            let mut pts: Vec<(f64, f64)> = clean(models, t).map(|c| (0.0, 100.0 * c.0)).into_iter().collect();
            pts.extend(
                budgets
                    .iter()
                    .filter_map(|&b| stat(cells, t, attack, b, setting).map(|s| (100.0 * b, 100.0 * s.0))),
            );
            if pts.len() > 1 {
                let label = if setting == Setting::Evasion {
                    t.name()
                } else {
                    format!("{} (poisoning)", t.name())
                };
                lines.push((label, pts));
            }
        }
    }
    let series: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, (l, p))| (l.as_str(), PALETTE[i % PALETTE.len()], p.as_slice()))
        .collect();
    let title = format!("GCN on {} under {} (mean over seeds)", data.name, attack.name());
    xy(
        &dir.join(format!("accuracy-{}.svg", attack.name())),
        &title,
        "perturbed edges (%)",
        "test accuracy (%)",
        &[],
        &series,
        None,
    )
}
