//! `canao predict`: the latency model's per-kernel prediction for an architecture on a device
//! profile, and `--validate`, which measures sampled students here against the prediction.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use canao_calibrate::{GROUP, Spec, Timing, Workload, anchor, measure_specs};
use canao_cpu::CpuRuntime;
use canao_ir::ReportsWork;
use canao_latency::calibrate::Accuracy;
use canao_latency::measured::{ANCHOR, Statistic};
use canao_latency::{
    CostModel, DeviceProfile, LatencyModel, PlanPredictor, Source, count_ops, energy_per_run, fitted_per_level,
    latency_per_level, runs_per_battery,
};
use canao_models::StudentArch;
use rand::SeedableRng;
use serde_json::json;

use crate::cmd::locate::{check_host, load_profile, load_space};
use crate::cmd::model::ArchFile;
use crate::cmd::plot;
use crate::cmd::train_report::write_atomic;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A device profile: a path, or a built-in name (snapdragon-855, rt3-reference, ...).
    #[arg(long)]
    device: String,
    /// An architecture RON: a student of MiniLM (`StudentArch`) or any `Arch`.
    #[arg(long, required_unless_present = "validate")]
    arch: Option<PathBuf>,
    /// DVFS level (0 = fastest).
    #[arg(long, default_value_t = 0)]
    level: usize,
    /// Tokens per sequence (default: the architecture file's, else 128).
    #[arg(long)]
    seq: Option<usize>,
    /// Measure sampled students here and compare them with the prediction.
    #[arg(long)]
    validate: bool,
    #[arg(long, default_value_t = 30)]
    samples: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The space --validate samples students of: a path, or a built-in name.
    #[arg(long, default_value = "minilm")]
    space: String,
    /// Timing rounds per pass for --validate (each runs every sample of a group once; each time
    /// is the statistic the profile was fitted with, over rounds and then over passes).
    #[arg(long, default_value_t = 9)]
    rounds: usize,
    /// Passes over all samples for --validate, so each sample's rounds are spread over the run.
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Where --validate writes its table and plot [default: results]. A folder named here is the
    /// run's own: it also gets report.json and its page (index.html).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Use a host profile measured on another CPU or instruction set (warns instead of refusing).
    #[arg(long)]
    other_host: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<()> {
    let profile = load_profile(&a.device)?;
    check_host(&profile, a.other_host)?;
    if a.validate {
        return validate(&a, &profile);
    }
    let path = a.arch.as_deref().expect("clap requires --arch");
    let workload = ArchFile::read(path)?.workload(&path.display().to_string(), a.seq)?;
    let name = workload.name.clone();
    if matches!(profile.model, CostModel::Analytic { .. }) {
        return analytic(&a, &profile, &workload);
    }
    let predictor = PlanPredictor::new(CpuRuntime, profile.clone(), a.level)?;
    let work = predictor.prepare(&workload.graph, &workload.weights)?.work();
    let p = predictor.model().predict(&work)?;
    let level = profile.level(a.level)?;
    let joules = energy_per_run(&profile, a.level, p.total_ms)?;
    let battery = profile
        .battery
        .as_ref()
        .map(|_| {
            // The plan is prepared already; only the coefficients change with the level.
            let per_level = fitted_per_level(&profile, &work)?;
            anyhow::Ok(runs_per_battery(&profile, &per_level)?)
        })
        .transpose()?;
    if a.json {
        let steps: Vec<_> = work
            .iter()
            .zip(&p.steps_ms)
            .enumerate()
            .map(|(i, (w, ms))| json!({"step": i, "class": w.class.to_string(), "ms": ms}))
            .collect();
        println!(
            "{}",
            json!({
                "device": profile.name, "arch": name, "level": level.name, "ghz": level.ghz,
                "threads": predictor.threads(), "latency_ms": p.total_ms, "energy_mj": joules * 1e3,
                "model_source": profile.model_source().map(Source::kind),
                "runs_per_battery": battery.map(|b| b.iter().map(|l| l.runs).collect::<Vec<_>>()),
                "steps": steps,
            })
        );
        return Ok(());
    }
    println!(
        "{name} on {} at {} ({:.2} GHz), {} thread(s)",
        profile.name,
        level.name,
        level.ghz,
        predictor.threads()
    );
    if let Some(source) = profile.model_source() {
        println!("coefficients: {}", source.describe());
    }
    println!("{:>5}  {:<20} {:>10} {:>7}", "step", "kernel class", "ms", "share");
    for (i, (w, ms)) in work.iter().zip(&p.steps_ms).enumerate() {
        println!(
            "{i:>5}  {:<20} {ms:>10.4} {:>6.1}%",
            w.class.to_string(),
            100.0 * ms / p.total_ms
        );
    }
    println!(
        "total: {:.3} ms, {:.3} mJ per run ({:.2} W)",
        p.total_ms,
        joules * 1e3,
        level.watts()
    );
    if let Some(b) = battery {
        for (l, e) in profile.dvfs.iter().zip(b) {
            println!("  {:<8} {:>12} runs per battery share", l.name, e.runs);
        }
    }
    Ok(())
}

/// RT3's analytic model: latency from the multiplies and adds left after pruning, at every level.
fn analytic(a: &Args, profile: &DeviceProfile, workload: &Workload) -> Result<()> {
    let counts = count_ops(&workload.graph);
    let per_level = latency_per_level(CpuRuntime, profile, &workload.graph, &workload.weights)?;
    let ms = *per_level.get(a.level).context("no such DVFS level")?;
    let joules = energy_per_run(profile, a.level, ms)?;
    let runs = profile
        .battery
        .as_ref()
        .map(|_| runs_per_battery(profile, &per_level))
        .transpose()?;
    if a.json {
        println!(
            "{}",
            json!({"device": profile.name, "arch": workload.name, "model": "analytic",
                   "level": profile.dvfs[a.level].name, "multiplies": counts.mul, "adds": counts.add,
                   "latency_ms": ms, "energy_mj": joules * 1e3,
                   "runs_per_battery": runs.map(|r| r.iter().map(|l| l.runs).collect::<Vec<_>>())})
        );
    } else {
        println!(
            "{} on {} (analytic, RT3): {} multiplies, {} adds",
            workload.name, profile.name, counts.mul, counts.add
        );
        for (i, (l, ms)) in profile.dvfs.iter().zip(&per_level).enumerate() {
            let runs = runs
                .as_ref()
                .map_or(String::new(), |r| format!(", {} runs per battery share", r[i].runs));
            println!("  {:<6} {:.2} GHz: {ms:.3} ms{runs}", l.name, l.ghz);
        }
        println!("level {}: {ms:.3} ms, {:.3} mJ per run", a.level, joules * 1e3);
    }
    Ok(())
}

/// Samples students from the space, measures each end to end here (all in turns), and compares
/// with the profile's prediction.
fn validate(a: &Args, profile: &DeviceProfile) -> Result<()> {
    if a.samples == 0 {
        bail!("--samples must be at least 1");
    }
    let model = LatencyModel::new(profile, a.level)?;
    let space = load_space(&a.space)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed);
    let teacher = space.teacher_arch();
    let students: Vec<StudentArch> = (0..a.samples).map(|_| space.sample(&mut rng)).collect();
    // Each group measured together holds the anchor workload too, so the host's drift since
    // calibration can be told apart from the model's error.
    let (anchor_ms, statistic) = match &profile.model {
        canao_latency::CostModel::Fitted(f) => (f.anchor_ms, f.statistic),
        _ => (None, Statistic::default()),
    };
    let timing = Timing {
        rounds: a.rounds,
        passes: a.passes,
        statistic,
    };
    eprintln!(
        "timing: the {} of {} rounds in each of {} passes per sample",
        statistic.name(),
        a.rounds,
        a.passes
    );
    let mut specs: Vec<Spec> = Vec::new();
    for (i, s) in students.iter().enumerate() {
        specs.push(Spec::Student {
            name: format!("sample{i}"),
            teacher: teacher.clone(),
            student: s.clone(),
            seq: space.seq,
            seed: a.seed.wrapping_add(i as u64),
        });
        if anchor_ms.is_some() && (i % (GROUP - 1) == GROUP - 2 || i + 1 == students.len()) {
            specs.push(anchor());
        }
    }
    let measured = measure_specs(&specs, model.threads(), timing, GROUP, &mut |what| eprintln!("{what}"))?;
    let mut rows = Vec::new();
    let mut corrected = Vec::new();
    let mut csv = String::from("sample,layers,heads,ffn,density,predicted_ms,measured_ms,error_pct,drift,arch\n");
    let mut samples = students.iter().zip(measured.iter().filter(|m| m.name != ANCHOR));
    for group in measured.split_inclusive(|m| m.name == ANCHOR) {
        // Host speed in this group against calibration time (1 = unchanged).
        let drift = match (group.last().filter(|m| m.name == ANCHOR), anchor_ms) {
            (Some(m), Some(cal)) => m.total_ns / 1e6 / cal,
            _ => 1.0,
        };
        for _ in group.iter().filter(|m| m.name != ANCHOR) {
            let (s, m) = samples.next().expect("one measurement per sample");
            let pred = model.predict(&m.work)?.total_ms;
            let meas = m.total_ns / 1e6;
            let list = |f: &dyn Fn(&canao_models::StudentLayer) -> String| {
                s.layers.iter().map(f).collect::<Vec<_>>().join(" ")
            };
            csv += &format!(
                "{},{},{},{},{},{pred:.4},{meas:.4},{:.2},{drift:.4},\"{}\"\n",
                m.name,
                s.layers.len(),
                list(&|l| l.heads.to_string()),
                list(&|l| l.ffn.to_string()),
                list(&|l| l.density.to_string()),
                100.0 * (pred / meas - 1.0),
                ron::to_string(s).expect("students serialise").replace('"', "'"),
            );
            rows.push((pred, meas));
            corrected.push((pred * drift, meas));
        }
    }
    let acc = Accuracy::of(&rows);
    let anchored = anchor_ms.map(|_| Accuracy::of(&corrected));
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("results"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let stem = out.join(format!("latency-validation-{}", profile.name));
    let (csv_path, svg_path) = (stem.with_extension("csv"), stem.with_extension("svg"));
    std::fs::write(&csv_path, csv).with_context(|| format!("writing {}", csv_path.display()))?;
    let flip = |v: &[(f64, f64)]| v.iter().map(|&(p, m)| (m, p)).collect::<Vec<_>>();
    let (raw_points, corrected_points) = (flip(&rows), flip(&corrected));
    let raw_label = format!(
        "as predicted: {:.0} % within 10 %, MAPE {:.1} %",
        100.0 * acc.within_10pct,
        acc.mape
    );
    let mut series: Vec<plot::Series> = vec![(&raw_label, plotters::style::BLUE, &raw_points)];
    let corrected_label = anchored.map(|c| {
        format!(
            "host drift taken out: {:.0} % within 10 %, MAPE {:.1} %",
            100.0 * c.within_10pct,
            c.mape
        )
    });
    if let Some(label) = &corrected_label {
        series.push((label, plotters::style::GREEN, &corrected_points));
    }
    plot::scatter(
        &svg_path,
        &format!(
            "{}: {} students of {} (seed {})",
            profile.name, a.samples, space.name, a.seed
        ),
        "measured here (ms)",
        "predicted (ms)",
        &series,
        true,
    )?;
    let summary = json!({"device": profile.name, "space": space.name, "samples": a.samples, "seed": a.seed,
                         "within_10pct": acc.within_10pct, "mape": acc.mape,
                         "drift_corrected": anchored.map(|c| json!({"within_10pct": c.within_10pct, "mape": c.mape})),
                         "table": csv_path, "plot": svg_path});
    if a.out.is_some() {
        write_atomic(&out.join("report.json"), &serde_json::to_vec_pretty(&summary)?)?;
        crate::cmd::report::refresh(&out);
    }
    if a.json {
        println!("{summary}");
    } else {
        println!(
            "{} samples: within_10pct = {:.3}, mape = {:.2} %",
            a.samples, acc.within_10pct, acc.mape
        );
        if let Some(c) = anchored {
            println!(
                "  with the host's drift since calibration taken out (anchor re-measured per group): within_10pct = {:.3}, mape = {:.2} %",
                c.within_10pct, c.mape
            );
        }
        println!("wrote {} and {}", csv_path.display(), svg_path.display());
    }
    Ok(())
}
