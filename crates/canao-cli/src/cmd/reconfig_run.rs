//! `canao reconfig run`: one choice of a `canao reconfig search` made real. The search keeps no
//! weights (a trained MiniLM is 90 MB a choice), so the choice is trained jointly again with the
//! search's settings; then every level's classifier runs through the CPU backend on the test
//! slice (accuracy through the IR, beside burn's), and every level is timed here on one
//! reconfigurable plan, switching between levels, against the dense backbone in the same rounds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use canao_cpu::{CpuRuntime, Isa, Reconfigurable};
use canao_ir::{Executable, Graph, Runtime, Schedule, Sparsity, Weights};
use canao_latency::{latency_per_level, runs_per_battery};
use canao_search::{Record, SearchLog};
use canao_train::Constraints;
use rand::SeedableRng;
use serde_json::json;

use crate::cmd::locate::load_profile;
use crate::cmd::plot;
use crate::cmd::reconfig::measure_switch;
use crate::cmd::reconfig_setup::{Settings, Setup, backbone};
use crate::cmd::run_dir::out_dir;
use crate::cmd::train_report::write_atomic;
use crate::cmd::trained::TrainedBert;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A `canao reconfig search` run folder.
    #[arg(long)]
    search: PathBuf,
    /// The choice to run, by its index in the search's log [default: the best trained one].
    #[arg(long)]
    choice: Option<usize>,
    /// Timed runs of each level here (the median is reported).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Also write the shared trained weights (`weights.safetensors`, head included) and each
    /// level's sparsity (`levels.ron`).
    #[arg(long)]
    keep_weights: bool,
    /// Output folder [default: <search>/run-<choice>].
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: &RunArgs) -> Result<()> {
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let settings = Settings::load(&a.search)?;
    let record = pick(&a.search, a.choice)?;
    let profile = load_profile(&settings.device)?;
    let (trained, backbone_settings) = backbone(&settings.from)?;
    let default_out = a.search.join(format!("run-{}", record.index));
    let dir = out_dir(Some(a.out.as_deref().unwrap_or(&default_out)), "")?;
    let levels = profile.dvfs.len();
    let setup = Setup::new(
        &settings,
        trained,
        &backbone_settings,
        levels,
        dir.join("training-scratch"),
    )?;
    let choice = setup.space.decode(&record.point)?;
    let sparsity = setup.space.sparsity(&choice, &setup.weights)?;
    eprintln!(
        "training choice {} jointly under its {levels} levels' pattern sets",
        record.index
    );
    let (shared, burn) = setup.scorer.train(&sparsity)?;
    if a.keep_weights {
        canao_train::checkpoint::write_weights(&dir.join("weights.safetensors"), &shared)?;
        let text = ron::ser::to_string_pretty(&sparsity, ron::ser::PrettyConfig::default())?;
        write_atomic(&dir.join("levels.ron"), text.as_bytes())?;
    }
    let models = sparsity
        .iter()
        .map(|s| level_model(&setup.trained, &shared, s))
        .collect::<Result<Vec<_>>>()?;
    eprintln!("running every level's classifier on the CPU backend");
    let ir = models
        .iter()
        .map(|m| ir_accuracy(m, &setup))
        .collect::<Result<Vec<_>>>()?;
    // Each level's encoder at the searched length: what is predicted and timed.
    let encoders = models.iter().map(TrainedBert::encoder).collect::<Result<Vec<_>>>()?;
    let graphs = encoders
        .iter()
        .map(|e| e.graph(settings.seq))
        .collect::<Result<Vec<Graph>, _>>()?;
    let weights = encoders[0].weights();
    eprintln!("timing every level here against the dense backbone");
    let timing = time_levels(&graphs, weights, &setup, a.runs)?;
    let predicted = graphs
        .iter()
        .enumerate()
        .map(|(l, g)| Ok(latency_per_level(CpuRuntime, &profile, g, weights)?[l]))
        .collect::<Result<Vec<f64>>>()?;
    let runs = runs_per_battery(&profile, &predicted)?;
    let dense_predicted = latency_per_level(CpuRuntime, &profile, &setup.graph, &setup.weights)?;
    let dense_runs = runs_per_battery(&profile, &dense_predicted)?;
    let rows: Vec<serde_json::Value> = profile
        .dvfs
        .iter()
        .enumerate()
        .map(|(l, level)| {
            json!({
                "level": level.name, "validation_accuracy_burn": burn.selection[l],
                "test_accuracy_burn": burn.held_out[l], "test_accuracy_cpu_backend": ir[l],
                "predicted_ms_on_device": predicted[l], "dense_predicted_ms_on_device": dense_predicted[l],
                "runs_per_battery": runs[l].runs, "dense_runs_per_battery": dense_runs[l].runs,
                "measured_ms_here": timing.level_ms[l], "dense_measured_ms_here": timing.dense_ms,
            })
        })
        .collect();
    let report = json!({
        "search": a.search, "choice": record.index, "search_reward": record.reward, "device": profile.name,
        "seq": settings.seq, "test_items": setup.scorer.task.data.split.test.len(), "isa": Isa::active()?.to_string(),
        "switch_ms_measured_here": timing.switch_ms, "timed_runs": a.runs, "levels": rows,
    });
    write_atomic(
        &dir.join("report.json"),
        (serde_json::to_string_pretty(&report)? + "\n").as_bytes(),
    )?;
    plot_levels(&dir, &profile.name, &rows)?;
    crate::cmd::report::refresh(&dir);
    for row in &rows {
        println!("{row}");
    }
    println!("wrote {}/report.json", dir.display());
    Ok(())
}

/// The record to run: `choice`, or the best one that was trained (met every limit).
fn pick(search: &Path, choice: Option<usize>) -> Result<Record> {
    let log = search.join("log.jsonl");
    let (_, records) = SearchLog::resume(&log).with_context(|| format!("reading {}", log.display()))?;
    let trained = |r: &Record| r.evaluation.extra.get("trained") == Some(&1.0);
    let record = match choice {
        Some(i) => records
            .into_iter()
            .find(|r| r.index == i)
            .with_context(|| format!("{} has no choice {i}", log.display()))?,
        None => records
            .into_iter()
            .filter(trained)
            .max_by(|a, b| a.reward.total_cmp(&b.reward))
            .with_context(|| {
                format!(
                    "no choice in {} met every limit: none was trained, so none can run",
                    log.display()
                )
            })?,
    };
    if !trained(&record) {
        bail!(
            "choice {} of {} missed a latency limit and was never trained",
            record.index,
            log.display()
        );
    }
    Ok(record)
}

/// The classifier of one level: the shared weights under that level's sparsity.
fn level_model(trained: &TrainedBert, shared: &Weights, sparsity: &BTreeMap<String, Sparsity>) -> Result<TrainedBert> {
    let mut constraints = Constraints::new();
    for (name, s) in sparsity {
        constraints.insert(name, shared.dense(name)?.shape(), s.clone())?;
    }
    Ok(TrainedBert {
        arch: trained.arch.clone(),
        labels: trained.labels.clone(),
        weights: shared.clone(),
        constraints,
    })
}

/// Test accuracy of a level's classifier run by the CPU backend (its pattern kernels read only
/// the kept weights, so the level's masks apply as its sparsity).
fn ir_accuracy(model: &TrainedBert, setup: &Setup) -> Result<f64> {
    let data = &setup.scorer.task.data;
    let items = &data.split.test;
    let encoded: Vec<_> = items.iter().map(|&i| data.encoded[i].clone()).collect();
    let logits = model.logits(&CpuRuntime, &Schedule { threads: 1 }, &encoded)?;
    let right = logits
        .iter()
        .zip(items)
        .filter(|(l, i)| argmax(l) == data.labels[**i])
        .count();
    Ok(right as f64 / items.len().max(1) as f64)
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// Median times here, one thread: each level on one reconfigurable plan, the dense backbone in the
/// same rounds, and a switch.
struct Timing {
    level_ms: Vec<f64>,
    dense_ms: f64,
    switch_ms: f64,
}

/// `graphs` are the levels' encoders; `weights` the shared ones (each level's sparsity says which
/// of them its kernels read).
fn time_levels(graphs: &[Graph], weights: &Weights, setup: &Setup, runs: usize) -> Result<Timing> {
    let schedule = Schedule { threads: 1 };
    let mut model = Reconfigurable::prepare(graphs, weights, &schedule, Isa::active()?)?;
    let mut dense = CpuRuntime.prepare(&setup.graph, &setup.weights, &schedule)?;
    let vocab = setup.trained.arch.vocab;
    let inputs = canao_interp::random::random_inputs(&graphs[0], &mut rand_chacha::ChaCha8Rng::seed_from_u64(0), vocab);
    let mut times = vec![Vec::with_capacity(runs); graphs.len() + 1];
    // One untimed round warms every level's weights and the dense plan.
    for round in 0..=runs {
        for (l, t) in times.iter_mut().take(graphs.len()).enumerate() {
            model.switch(l)?;
            let start = Instant::now();
            model.exe().run(&inputs)?;
            if round > 0 {
                t.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        let start = Instant::now();
        dense.run(&inputs)?;
        if round > 0 {
            times[graphs.len()].push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mut medians: Vec<f64> = times.into_iter().map(median).collect();
    let dense_ms = medians.pop().expect("the dense column");
    Ok(Timing {
        level_ms: medians,
        dense_ms,
        switch_ms: measure_switch(graphs, weights)?,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `levels.svg`: test accuracy per level (burn and the CPU backend) and measured time here.
fn plot_levels(dir: &Path, device: &str, rows: &[serde_json::Value]) -> Result<()> {
    let series = |key: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .enumerate()
            .map(|(l, r)| (l as f64, r[key].as_f64().unwrap_or(0.0)))
            .collect()
    };
    let (burn, cpu) = (series("test_accuracy_burn"), series("test_accuracy_cpu_backend"));
    plot::xy(
        &dir.join("accuracy.svg"),
        &format!("{device}: test accuracy per DVFS level, jointly trained"),
        "DVFS level (0 = fastest)",
        "accuracy",
        &[("CPU backend", plot::PALETTE[1], &cpu)],
        &[("burn", plot::PALETTE[0], &burn)],
        None,
    )?;
    let (ms, dense) = (series("measured_ms_here"), series("dense_measured_ms_here"));
    plot::xy(
        &dir.join("latency.svg"),
        "measured here, one thread: each level's pattern set against dense",
        "DVFS level (0 = fastest)",
        "ms",
        &[],
        &[
            ("pattern set", plot::PALETTE[0], &ms),
            ("dense", plot::PALETTE[1], &dense),
        ],
        None,
    )
}
