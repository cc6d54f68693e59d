//! `canao reconfig search`: RT3's search of one pattern set per DVFS level (ALGORITHMS.md §4) for
//! a fine-tuned MiniLM classifier. A strategy of canao-search (REINFORCE by default, as RT3) picks
//! `--patterns` candidates per encoder layer and level; each choice is predicted on the CPU
//! backend's plans by the device profile's latency model, and one that meets every level's limit
//! is trained jointly for one epoch on a slice of the training part (loss weights 0.5 / 0.3 /
//! 0.2, gradient-norm clip 0.5) and scored on a slice of the validation part. The run folder's
//! `log.jsonl` is the cache of evaluated choices; rerunning the command resumes it.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use canao_compress::RT3_SPARSITY_LEVELS;
use canao_cpu::CpuRuntime;
use canao_latency::{DeviceProfile, Rt3Reward};
use canao_search::pattern_sets::PatternObjective;
use canao_search::strategy::StrategyKind;
use canao_search::{Budget, LocalStore, Record, Reward, Runner, SearchLog, best_so_far};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cmd::locate::load_profile;
use crate::cmd::plot;
use crate::cmd::reconfig_setup::{
    Dense, Grouping, RT3_LEVEL_WEIGHTS, RewardKind, Settings, Setup, backbone, set_limits,
};
use crate::cmd::run_dir::{check_or_write_config, out_dir};
use crate::cmd::train_report::write_atomic;

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// A `canao train` run folder of a fine-tuned MiniLM classifier: the backbone whose pattern
    /// sets are searched (trained without constraints).
    #[arg(long)]
    from: PathBuf,
    /// A device profile with DVFS levels and a battery (path or built-in name) [default: snapdragon-855].
    #[arg(long)]
    device: Option<String>,
    /// Latency limit per level in ms, fastest level first [default: the profile's limits where it
    /// has them, else the dense backbone's latency at that level].
    #[arg(long, value_delimiter = ',')]
    limits: Vec<f64>,
    #[arg(long, default_value = "rl", value_parser = parse_strategy)]
    strategy: StrategyKind,
    /// Distinct choices to evaluate (a rerun may raise it to extend the run).
    #[arg(long, default_value_t = 20)]
    budget: usize,
    /// Stop after this many minutes of search, summed over resumed sessions (a rerun may change it).
    #[arg(long)]
    minutes: Option<f64>,
    /// Side of a pattern tile.
    #[arg(long, default_value_t = 16)]
    block: usize,
    /// Importance maps kept per weight (RT3: 10).
    #[arg(long, default_value_t = 4)]
    maps: usize,
    /// Candidates picked per layer and level (RT3: 4).
    #[arg(long, default_value_t = 4)]
    patterns: usize,
    #[arg(long, value_enum, default_value = "layer")]
    groups: Grouping,
    /// Candidate sparsities of a tile [default: RT3's ten, 0.01 to 0.99].
    #[arg(long, value_delimiter = ',')]
    sparsity: Vec<f64>,
    /// Training snippets each trained choice sees (one epoch), from the backbone's training part.
    #[arg(long, default_value_t = 256)]
    train_items: usize,
    /// Peak learning rate of the joint training (AdamW, 10 % warm-up, linear decay).
    #[arg(long, default_value_t = 2e-5)]
    lr: f64,
    /// Validation snippets each level is scored on (and as many test snippets, logged beside).
    #[arg(long, default_value_t = 256)]
    eval_items: usize,
    /// Tokens per sequence the latency is predicted at.
    #[arg(long, default_value_t = 128)]
    seq: usize,
    #[arg(long, value_enum, default_value = "anchored")]
    reward: RewardKind,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder [default: results/reconfig-search-<device>].
    #[arg(long)]
    out: Option<PathBuf>,
}

const DEFAULT_DEVICE: &str = "snapdragon-855";

fn parse_strategy(s: &str) -> std::result::Result<StrategyKind, String> {
    s.parse()
}

pub fn search(a: &SearchArgs) -> Result<()> {
    let mut profile = checked_profile(a)?;
    let (trained, backbone_settings) = backbone(&a.from)?;
    let settings = Settings {
        from: a.from.clone(),
        device: a.device.clone().unwrap_or_else(|| DEFAULT_DEVICE.into()),
        limits: a.limits.clone(),
        strategy: a.strategy,
        budget: a.budget,
        minutes: a.minutes,
        block: a.block,
        maps: a.maps,
        patterns: a.patterns,
        groups: a.groups,
        sparsity: if a.sparsity.is_empty() {
            RT3_SPARSITY_LEVELS.to_vec()
        } else {
            a.sparsity.clone()
        },
        train_items: a.train_items,
        lr: a.lr,
        eval_items: a.eval_items,
        seq: a.seq,
        reward: a.reward,
        seed: a.seed,
        max_tokens: backbone_settings.max_tokens,
        level_weights: RT3_LEVEL_WEIGHTS,
    };
    let dir = out_dir(a.out.as_deref(), &format!("reconfig-search-{}", profile.name))?;
    let resolved = serde_json::to_value(&settings)?;
    check_or_write_config(&dir, &resolved, &["budget", "minutes"])?;

    let levels = profile.dvfs.len();
    let setup = Setup::new(
        &settings,
        trained,
        &backbone_settings,
        levels,
        dir.join("training-scratch"),
    )?;
    eprintln!("measuring the dense backbone: accuracy and latency per level");
    let dense = Dense::measure(&setup, &profile)?;
    set_limits(&mut profile, &settings.limits, &dense.latency_ms);
    let reward = dense.reward(settings.reward);
    let objective = PatternObjective {
        space: setup.space,
        graph: setup.graph,
        weights: &setup.weights,
        runtime: CpuRuntime,
        profile: profile.clone(),
        reward: reward.clone(),
        scorer: &setup.scorer,
    };
    let records = run_search(&objective, &settings, &dir)?;
    write_report(&dir, &profile, &reward, &dense, &records, &resolved)
}

/// The device profile, refused (before anything is made) unless it has RT3's three DVFS levels
/// and a battery, and the settings that depend on it.
fn checked_profile(a: &SearchArgs) -> Result<DeviceProfile> {
    let profile = load_profile(a.device.as_deref().unwrap_or(DEFAULT_DEVICE))?;
    if profile.dvfs.len() != RT3_LEVEL_WEIGHTS.len() || profile.battery.is_none() {
        let battery = if profile.battery.is_none() {
            " and no battery"
        } else {
            ""
        };
        bail!(
            "profile `{}` has {} DVFS levels{battery}: RT3's search needs 3 levels (its loss weights 0.5 / 0.3 / 0.2) and a battery",
            profile.name,
            profile.dvfs.len(),
        );
    }
    if a.minutes.is_some_and(|m| !(m.is_finite() && m > 0.0)) {
        bail!("--minutes must be a positive number");
    }
    if !a.limits.is_empty() && a.limits.len() != profile.dvfs.len() {
        bail!(
            "--limits: give one per DVFS level ({}), got {}",
            profile.dvfs.len(),
            a.limits.len()
        );
    }
    Ok(profile)
}

/// Runs (or resumes) the search; returns every evaluated record.
fn run_search(objective: &PatternObjective<'_, CpuRuntime>, a: &Settings, dir: &Path) -> Result<Vec<Record>> {
    let log_path = dir.join("log.jsonl");
    let (log, logged) = if log_path.exists() {
        SearchLog::resume(&log_path)?
    } else {
        (SearchLog::create(&log_path)?, Vec::new())
    };
    let mut store = LocalStore::new(log, 1)?;
    let runner = Runner {
        objective,
        reward: Reward::UNLIMITED,
        budget: Budget {
            evaluations: a.budget,
            seconds: a.minutes.map(|m| m * 60.0),
        },
        batch: 1,
    };
    let mut strategy = a.strategy.build(&objective.space.cardinalities(), a.seed)?;
    let bar = ProgressBar::new(a.budget as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} choices, {elapsed} (eta {eta}) {msg}")
            .expect("a valid template"),
    );
    bar.set_position(logged.len() as u64);
    eprintln!(
        "searching {} decisions of {} candidates with {} ({} choices logged before)",
        objective.space.cardinalities().len(),
        objective.space.choices(),
        a.strategy.name(),
        logged.len()
    );
    let outcome = runner.run(strategy.as_mut(), &mut store, logged, &|r: &Record| {
        bar.inc(1);
        bar.set_message(format!("last reward {:.3}", r.reward));
        if bar.is_hidden() {
            eprintln!("choice {}: reward {:.4} ({:.0} s)", r.index, r.reward, r.elapsed_s);
        }
    })?;
    bar.finish_and_clear();
    eprintln!("stopped on {} after {} choices", outcome.stop, outcome.records.len());
    Ok(outcome.records)
}

/// `report.json` (the best choice by reward, and the best trained one per level beside the dense
/// backbone), `curve.svg` (reward per choice and best so far), `levels.svg` (accuracy per
/// level), `tradeoff.svg` (accuracy against runs per battery), and the page.
fn write_report(
    dir: &Path,
    profile: &DeviceProfile,
    reward: &Rt3Reward,
    dense: &Dense,
    records: &[Record],
    config: &serde_json::Value,
) -> Result<()> {
    let by_reward = |a: &&Record, b: &&Record| a.reward.total_cmp(&b.reward);
    let best = records.iter().max_by(by_reward);
    // RT3's reward can rank a choice that misses a limit (untrained) above every trained one, when
    // training loses much accuracy: the levels table shows the best trained choice.
    let trained: Vec<&Record> = records.iter().filter(|r| is_trained(r)).collect();
    let best_trained = trained.iter().copied().max_by(by_reward);
    let levels: Vec<serde_json::Value> = profile
        .dvfs
        .iter()
        .enumerate()
        .map(|(l, level)| {
            let of = |key: &str| {
                best_trained.and_then(|r| r.evaluation.extra.get(&format!("{key}_{}", level.name)).copied())
            };
            json!({
                "level": level.name, "limit_ms": level.limit_ms, "dense_ms": dense.latency_ms[l],
                "best_trained_ms": of("latency_ms"), "best_trained_accuracy": of("accuracy"),
                "best_trained_test_accuracy": of("held_out_accuracy"),
            })
        })
        .collect();
    let summary = |r: &Record| {
        json!({
            "index": r.index, "reward": r.reward, "trained": is_trained(r),
            "weighted_accuracy": is_trained(r).then_some(r.evaluation.accuracy),
            "runs_per_battery": r.evaluation.extra.get("runs_per_battery"),
            "monotonic": r.evaluation.extra.get("monotonic"), "choice": r.arch,
        })
    };
    let report = json!({
        "config": config, "device": profile.name, "reward": reward, "dense": dense,
        "choices": records.len(), "trained": trained.len(),
        "accuracy_part": "accuracy: the first eval_items snippets of the backbone's validation part (what the reward reads); test_accuracy: as many of its test part (never read by the search)",
        "best": best.map(summary), "best_trained": best_trained.map(summary), "levels": levels,
    });
    write_atomic(
        &dir.join("report.json"),
        (serde_json::to_string_pretty(&report)? + "\n").as_bytes(),
    )?;
    write_plots(dir, profile, dense, records, best_trained)?;
    crate::cmd::report::refresh(dir);
    print_summary(records.len(), best, best_trained, dense);
    println!("wrote {}/report.json", dir.display());
    Ok(())
}

fn is_trained(r: &Record) -> bool {
    r.evaluation.extra.get("trained") == Some(&1.0)
}

fn print_summary(choices: usize, best: Option<&Record>, best_trained: Option<&Record>, dense: &Dense) {
    let runs = |r: &Record| r.evaluation.extra.get("runs_per_battery").copied().unwrap_or(0.0);
    if let Some(b) = best {
        println!(
            "best of {choices} choices by reward: {} ({:.4}), runs per battery {} (dense {})",
            b.index,
            b.reward,
            runs(b),
            dense.runs
        );
    }
    match best_trained {
        Some(b) => println!(
            "best trained: {} ({:.4}), weighted validation accuracy {:.4} (dense {:.4}), runs per battery {}",
            b.index,
            b.reward,
            b.evaluation.accuracy,
            dense.accuracy,
            runs(b)
        ),
        None => println!("no choice met every limit: none was trained"),
    }
}

fn write_plots(
    dir: &Path,
    profile: &DeviceProfile,
    dense: &Dense,
    records: &[Record],
    best: Option<&Record>,
) -> Result<()> {
    let rewards: Vec<(f64, f64)> = records.iter().map(|r| (r.index as f64, r.reward)).collect();
    let best_line: Vec<(f64, f64)> = best_so_far(records)
        .into_iter()
        .enumerate()
        .map(|(i, b)| (i as f64, b))
        .collect();
    plot::xy(
        &dir.join("curve.svg"),
        "RT3 search: reward per choice",
        "choice",
        "reward",
        &[("choice", plot::PALETTE[0], &rewards)],
        &[("best so far", plot::PALETTE[1], &best_line)],
        None,
    )?;
    let per_level = |key: &str| -> Vec<(f64, f64)> {
        profile
            .dvfs
            .iter()
            .enumerate()
            .filter_map(|(l, level)| {
                best.and_then(|r| r.evaluation.extra.get(&format!("{key}_{}", level.name)))
                    .map(|&v| (l as f64, v))
            })
            .collect()
    };
    // What RT3 trades: every trained choice's weighted accuracy against its runs per battery.
    let tradeoff: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| is_trained(r))
        .filter_map(|r| Some((*r.evaluation.extra.get("runs_per_battery")?, r.evaluation.accuracy)))
        .collect();
    plot::xy(
        &dir.join("tradeoff.svg"),
        &format!("{}: trained choices, accuracy against battery life", profile.name),
        "runs per battery (all levels)",
        "weighted validation accuracy",
        &[
            ("trained choice", plot::PALETTE[0], &tradeoff),
            (
                "dense backbone",
                plot::PALETTE[1],
                &[(dense.runs as f64, dense.accuracy)],
            ),
        ],
        &[],
        None,
    )?;
    let dense_accuracy: Vec<(f64, f64)> = (0..profile.dvfs.len()).map(|l| (l as f64, dense.accuracy)).collect();
    let best_accuracy = per_level("accuracy");
    plot::xy(
        &dir.join("levels.svg"),
        &format!("{}: validation accuracy per DVFS level", profile.name),
        "DVFS level (0 = fastest)",
        "accuracy",
        &[("best trained choice", plot::PALETTE[0], &best_accuracy)],
        &[("dense backbone", plot::PALETTE[1], &dense_accuracy)],
        None,
    )?;
    Ok(())
}
