//! `canao reconfig search|run|replay`. The search (RT3's controller and joint training) lives in
//! `reconfig_search.rs`, the run of a searched choice in `reconfig_run.rs`. The replay is RT3's run-time setting on a DVFS trace: MiniLM gets a
//! pattern set per DVFS level drawn from its own weights (all candidates of one sparsity per
//! level); the trace is replayed against three models: the reconfigurable one (each level's set
//! at that level, with the switch time measured here on the CPU backend), the dense model, and
//! level 0's set kept at every level. Latency per level comes from the device profile's model.
//! The replay's sets are not trained, so it reports no accuracy.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use canao_compress::{CandidateConfig, with_pattern_sets};
use canao_cpu::{CpuRuntime, Isa, Reconfigurable};
use canao_ir::{Graph, Schedule, Weights};
use canao_latency::{DeviceProfile, Replay, Runs, Trace, latency_per_level, replay, runs_per_battery};
use canao_models::{MiniLm, assets};
use serde_json::{Value, json};

use crate::cmd::locate::load_profile;
use crate::cmd::plot;
use crate::cmd::progress::spinner;
use crate::cmd::run_dir::out_dir;
use crate::cmd::train_report::write_atomic;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Search one pattern set per DVFS level for a fine-tuned MiniLM classifier (RT3: a
    /// controller picks patterns per layer and level; choices meeting every latency limit are
    /// trained jointly and scored per level). Rerunning the command resumes it.
    Search(crate::cmd::reconfig_search::SearchArgs),
    /// Train one choice of a search (default: its best trained one) and run every level: test
    /// accuracy through the CPU backend, and each level timed here on one reconfigurable plan
    /// against the dense backbone.
    Run(crate::cmd::reconfig_run::RunArgs),
    /// Replay a DVFS trace (CSV: time_ms,event,value with `level` and `request` events) against
    /// the reconfigurable model, the dense one and a single fixed pattern set.
    Replay(ReplayArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    #[arg(long)]
    trace: PathBuf,
    /// A device profile with DVFS levels (path or built-in name) [default: snapdragon-855].
    #[arg(long)]
    device: Option<String>,
    /// The sparsity of each level's pattern set, fastest level first (one per DVFS level).
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.75,0.87")]
    sparsity: Vec<f64>,
    /// Side of a pattern tile.
    #[arg(long, default_value_t = 16)]
    block: usize,
    /// Candidate patterns per layer and level (RT3: 4).
    #[arg(long, default_value_t = 4)]
    patterns: usize,
    #[arg(long, default_value_t = 128)]
    seq: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder [default: results/reconfig-replay-<trace>].
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(c: Command) -> Result<()> {
    match c {
        Command::Search(a) => crate::cmd::reconfig_search::search(&a),
        Command::Run(a) => crate::cmd::reconfig_run::run(&a),
        Command::Replay(a) => replay_trace(&a),
    }
}

fn replay_trace(a: &ReplayArgs) -> Result<()> {
    let profile = load_profile(a.device.as_deref().unwrap_or("snapdragon-855"))?;
    if profile.dvfs.is_empty() || a.sparsity.len() != profile.dvfs.len() {
        bail!(
            "profile `{}` has {} DVFS levels: give one --sparsity per level (got {})",
            profile.name,
            profile.dvfs.len(),
            a.sparsity.len()
        );
    }
    let origin = a.trace.display().to_string();
    let text = std::fs::read_to_string(&a.trace).with_context(|| format!("reading {origin}"))?;
    let trace = Trace::parse(&text, &origin, &profile)?;
    let stem = a
        .trace
        .file_stem()
        .map_or_else(|| "trace".into(), |s| s.to_string_lossy().into_owned());
    let dir = out_dir(a.out.as_deref(), &format!("reconfig-replay-{stem}"))?;

    let minilm = MiniLm::from_cache(&assets::canao_home(), &mut |l| eprintln!("{l}"))?;
    let dense = minilm.arch(a.seq).build()?;
    let weights = minilm.weights();
    let prunable = minilm.prunable();
    let config = CandidateConfig {
        block: a.block,
        blocks: 10,
        draws: 16,
        maps: a.patterns,
        seed: a.seed,
    };
    let spin = spinner("drawing each level's pattern set from the weights");
    let levels = a
        .sparsity
        .iter()
        .map(|&s| with_pattern_sets(&dense, weights, &config, s, |n| prunable.iter().any(|p| p == n)))
        .collect::<Result<Vec<Graph>, _>>()?;
    spin.set_message("measuring the switch between pattern sets here");
    let switch_ms = measure_switch(&levels, weights)?;
    spin.set_message("predicting each model's latency per level");
    let switching: Vec<f64> = levels
        .iter()
        .enumerate()
        .map(|(l, g)| Ok(latency_per_level(CpuRuntime, &profile, g, weights)?[l]))
        .collect::<Result<_>>()?;
    let dense_ms = latency_per_level(CpuRuntime, &profile, &dense, weights)?;
    let single_ms = latency_per_level(CpuRuntime, &profile, &levels[0], weights)?;
    spin.finish_and_clear();

    let models = [
        ("reconfigurable", switching, switch_ms),
        ("dense", dense_ms, 0.0),
        ("level 0's set only", single_ms, 0.0),
    ];
    let mut rows = Vec::new();
    for (name, ms, switch) in &models {
        let r: Replay = replay(
            &trace,
            &profile,
            &Runs {
                latency_ms: ms,
                switch_ms: *switch,
            },
        )?;
        let runs = profile
            .battery
            .as_ref()
            .map(|_| runs_per_battery(&profile, ms))
            .transpose()?
            .map(|b| b.iter().map(|l| l.runs).collect::<Vec<_>>());
        rows.push(json!({"model": name, "latency_ms_per_level": ms, "switch_ms": switch, "replay": r, "runs_per_battery_per_level": runs}));
    }
    let report = json!({
        "device": profile.name, "trace": origin, "events": trace.events.len(), "sparsity_per_level": a.sparsity,
        "block": a.block, "patterns_per_layer": a.patterns, "seq": a.seq, "seed": a.seed,
        "switch_ms_measured_here": switch_ms, "isa": Isa::active()?.to_string(),
        "accuracy": "not measured: the pattern sets are not trained yet",
        "models": rows,
    });
    write_run(&dir, &profile, &report)?;
    print_table(&profile, &models, &report);
    println!("wrote {}/report.json", dir.display());
    Ok(())
}

/// The run folder: report.json, one row per model (replay.jsonl), each model's latency per
/// DVFS level and its energy and missed deadlines over the trace as plots, and the page.
fn write_run(dir: &Path, profile: &DeviceProfile, report: &Value) -> Result<()> {
    let models = report["models"].as_array().map_or(&[][..], Vec::as_slice);
    let name = |m: &Value| m["model"].as_str().unwrap_or("?").to_string();
    let mut log = String::new();
    for m in models {
        let mut row = json!({"model": m["model"], "switch_ms": m["switch_ms"]});
        for (k, v) in m["replay"].as_object().into_iter().flatten() {
            row[k] = v.clone();
        }
        for (l, ms) in m["latency_ms_per_level"].as_array().into_iter().flatten().enumerate() {
            row[format!("ms_at_{}", profile.dvfs[l].name)] = ms.clone();
        }
        log.push_str(&format!("{row}\n"));
    }
    write_atomic(&dir.join("replay.jsonl"), log.as_bytes())?;
    let lines: Vec<(String, Vec<(f64, f64)>)> = models
        .iter()
        .map(|m| {
            let ms = m["latency_ms_per_level"].as_array().into_iter().flatten();
            (
                name(m),
                ms.enumerate()
                    .map(|(l, v)| (l as f64, v.as_f64().unwrap_or(0.0)))
                    .collect(),
            )
        })
        .collect();
    let series: Vec<plot::Series> = lines
        .iter()
        .zip(plot::PALETTE)
        .map(|((n, pts), c)| (n.as_str(), c, pts.as_slice()))
        .collect();
    plot::xy(
        &dir.join("latency.svg"),
        &format!("{}: one run per DVFS level", profile.name),
        "DVFS level (0 = fastest)",
        "latency (ms)",
        &[],
        &series,
        None,
    )?;
    let per_model = |key: &str| -> Vec<(String, f64)> {
        models
            .iter()
            .map(|m| (name(m), m["replay"][key].as_f64().unwrap_or(0.0)))
            .collect()
    };
    let trace = report["trace"].as_str().unwrap_or("the trace");
    plot::bars(
        &dir.join("energy.svg"),
        &format!("energy over {trace}"),
        "J",
        "J",
        &per_model("joules"),
    )?;
    plot::bars(
        &dir.join("missed.svg"),
        &format!("requests past their deadline over {trace}"),
        "requests",
        "requests",
        &per_model("missed"),
    )?;
    write_atomic(
        &dir.join("report.json"),
        (serde_json::to_string_pretty(report)? + "\n").as_bytes(),
    )?;
    crate::cmd::report::refresh(dir);
    Ok(())
}

/// Median time of a switch between levels of one prepared plan, in ms.
pub(super) fn measure_switch(levels: &[Graph], weights: &Weights) -> Result<f64> {
    let mut model = Reconfigurable::prepare(levels, weights, &Schedule { threads: 1 }, Isa::active()?)?;
    let mut times: Vec<f64> = (0..3000)
        .map(|i| {
            let t = Instant::now();
            model.switch(i % levels.len())?;
            Ok(t.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn print_table(profile: &DeviceProfile, models: &[(&str, Vec<f64>, f64); 3], report: &serde_json::Value) {
    println!(
        "{} levels of {} ({}); switch measured here: {:.4} ms",
        profile.dvfs.len(),
        profile.name,
        profile
            .dvfs
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(" / "),
        report["switch_ms_measured_here"].as_f64().unwrap_or(0.0)
    );
    println!(
        "{:<20} {:>24} {:>9} {:>7} {:>10}",
        "model", "ms per level", "requests", "missed", "joules"
    );
    for ((name, ms, _), row) in models.iter().zip(report["models"].as_array().into_iter().flatten()) {
        let r = &row["replay"];
        let ms: Vec<String> = ms.iter().map(|m| format!("{m:.1}")).collect();
        println!(
            "{name:<20} {:>26} {:>9} {:>7} {:>10.3}",
            ms.join(" / "),
            r["requests"].as_u64().unwrap_or(0),
            r["missed"].as_u64().unwrap_or(0),
            r["joules"].as_f64().unwrap_or(0.0)
        );
    }
}
