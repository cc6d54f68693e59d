//! `canao compare-pruning`: the `canao prune` runs under a folder side by side, one row per
//! method, structure and rate (mean and spread over seeds), with plots of accuracy against
//! compression and of accuracy per retraining epoch.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use plotters::style::{BLACK, BLUE, GREEN, RED, RGBColor};
use serde::Deserialize;

use crate::cmd::plot;
use crate::cmd::train_report::write_atomic;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A folder whose sub-folders are `canao prune` runs (the finished ones, with report.json,
    /// are compared).
    #[arg(long)]
    runs: PathBuf,
    /// Where the table (pruning.md) and plots go (default: --runs).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The part of a run's report.json compared here.
#[derive(Debug, Deserialize)]
struct Report {
    settings: Settings,
    pruning: Pruning,
    cpu_latency: Latency,
}

#[derive(Debug, Deserialize)]
struct Settings {
    seed: u64,
}

#[derive(Debug, Deserialize)]
struct Pruning {
    method: String,
    structure: String,
    rate_target: f64,
    compression_pruned_layers: f64,
    compression_model: f64,
    accuracy_start: Accuracy,
    accuracy_before_prune: Accuracy,
    accuracy_hard_prune: Accuracy,
    accuracy_per_epoch: Vec<f64>,
    test_accuracy: f64,
}

#[derive(Debug, Deserialize)]
struct Accuracy {
    test: f64,
    validation: f64,
}

#[derive(Debug, Deserialize)]
struct Latency {
    speedup: f64,
}

/// Runs of one method and structure at one target rate.
type Key = (String, String, u64);

pub fn run(a: Args) -> Result<()> {
    let runs = read_runs(&a.runs)?;
    if runs.is_empty() {
        bail!("--runs {}: no sub-folder holds a report.json", a.runs.display());
    }
    let mut groups: BTreeMap<Key, Vec<Report>> = BTreeMap::new();
    for r in runs {
        let p = &r.pruning;
        // Rates as thousandths keep the key exact and ordered.
        let key = (
            p.method.clone(),
            p.structure.clone(),
            (p.rate_target * 1e3).round() as u64,
        );
        groups.entry(key).or_default().push(r);
    }
    let out = a.out.unwrap_or(a.runs.clone());
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let table = table(&groups);
    write_atomic(&out.join("pruning.md"), table.as_bytes())?;
    plot_rates(&out.join("accuracy-vs-compression.svg"), &groups)?;
    plot_epochs(&out.join("retrain-epochs.svg"), &groups)?;
    crate::cmd::report::refresh(&out);
    print!("{table}");
    println!("wrote {}", out.display());
    Ok(())
}

fn read_runs(dir: &Path) -> Result<Vec<Report>> {
    let mut runs = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let run = entry?.path();
        let path = run.join("report.json");
        // prune.json marks a pruning run (a dense `canao train` folder beside them has none).
        if !(run.join("prune.json").exists() && path.exists()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        runs.push(serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?);
    }
    Ok(runs)
}

/// Mean and sample standard deviation (0 for one value).
fn mean_sd(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let v: Vec<f64> = xs.collect();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn cell(xs: impl Iterator<Item = f64>) -> String {
    let (m, sd) = mean_sd(xs);
    format!("{m:.4} ± {sd:.4}")
}

fn table(groups: &BTreeMap<Key, Vec<Report>>) -> String {
    let epochs = groups
        .values()
        .flatten()
        .map(|r| r.pruning.accuracy_per_epoch.len())
        .max()
        .unwrap_or(0);
    let mut s = String::from(
        "| method | structure | target | compression (pruned layers / model) | seeds | dense test | before prune (test) | hard prune (test) |",
    );
    for e in 1..=epochs {
        let _ = write!(s, " retrain epoch {e} (val.) |");
    }
    s.push_str(" final test | CPU speed-up vs dense |\n|");
    s.push_str(&"---|".repeat(10 + epochs));
    s.push('\n');
    for ((method, structure, _), runs) in groups {
        let p = |f: fn(&Pruning) -> f64| cell(runs.iter().map(|r| f(&r.pruning)));
        let _ = write!(
            s,
            "| {method} | {structure} | {}x | {:.2}x / {:.2}x | {} | {} | {} | {} |",
            runs[0].pruning.rate_target,
            mean_sd(runs.iter().map(|r| r.pruning.compression_pruned_layers)).0,
            mean_sd(runs.iter().map(|r| r.pruning.compression_model)).0,
            seeds(runs),
            p(|p| p.accuracy_start.test),
            p(|p| p.accuracy_before_prune.test),
            p(|p| p.accuracy_hard_prune.test),
        );
        for e in 0..epochs {
            let at = runs.iter().filter_map(|r| r.pruning.accuracy_per_epoch.get(e).copied());
            let _ = write!(s, " {} |", cell(at));
        }
        let speedup = mean_sd(runs.iter().map(|r| r.cpu_latency.speedup)).0;
        let _ = writeln!(s, " {} | {speedup:.2}x |", p(|p| p.test_accuracy));
    }
    s
}

fn seeds(runs: &[Report]) -> String {
    let v: Vec<String> = runs.iter().map(|r| r.settings.seed.to_string()).collect();
    v.join(",")
}

const COLOURS: [RGBColor; 4] = [BLUE, RED, GREEN, BLACK];

/// One line per method and structure: mean final test accuracy against log2 of the compression.
fn plot_rates(path: &Path, groups: &BTreeMap<Key, Vec<Report>>) -> Result<()> {
    let mut lines: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for ((method, structure, _), runs) in groups {
        let rate = mean_sd(runs.iter().map(|r| r.pruning.compression_pruned_layers)).0;
        let acc = mean_sd(runs.iter().map(|r| r.pruning.test_accuracy)).0;
        lines
            .entry(format!("{method} {structure}"))
            .or_default()
            .push((rate.log2(), acc));
    }
    let series: Vec<plot::Series> = lines
        .iter()
        .zip(COLOURS.iter().cycle())
        .map(|((name, pts), &c)| (name.as_str(), c, pts.as_slice()))
        .collect();
    plot::xy(
        path,
        "test accuracy after retraining, mean over seeds",
        "log2 compression of the pruned layers",
        "test accuracy",
        &series,
        &series,
        None,
    )
}

/// Mean validation accuracy per retraining epoch (0: right after the hard prune), one line
/// per method, structure and rate.
fn plot_epochs(path: &Path, groups: &BTreeMap<Key, Vec<Report>>) -> Result<()> {
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for ((method, structure, rate), runs) in groups {
        let epochs = runs
            .iter()
            .map(|r| r.pruning.accuracy_per_epoch.len())
            .min()
            .unwrap_or(0);
        let mut pts = vec![(
            0.0,
            mean_sd(runs.iter().map(|r| r.pruning.accuracy_hard_prune.validation)).0,
        )];
        for e in 0..epochs {
            pts.push((
                e as f64 + 1.0,
                mean_sd(runs.iter().map(|r| r.pruning.accuracy_per_epoch[e])).0,
            ));
        }
        lines.push((format!("{method} {structure} {}x", *rate as f64 / 1e3), pts));
    }
    let palette = [BLUE, RED, GREEN, BLACK, RGBColor(200, 120, 0), RGBColor(120, 0, 160)];
    let series: Vec<plot::Series> = lines
        .iter()
        .zip(palette.iter().cycle())
        .map(|((name, pts), &c)| (name.as_str(), c, pts.as_slice()))
        .collect();
    plot::xy(
        path,
        "accuracy per retraining epoch, mean over seeds",
        "retraining epoch (0: right after the hard prune)",
        "validation accuracy",
        &[],
        &series,
        None,
    )
}
