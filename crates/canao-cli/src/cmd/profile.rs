//! `canao profile`: calibrate the latency model on this host's CPU kernels and write the device
//! profile with its raw calibration data beside it, and a run folder that shows the fit: every
//! workload's predicted against measured time, the accuracy figures and the profile, with its
//! page.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use canao_calibrate::{Options, Timing, calibrate, running_isa};
use canao_latency::Host;
use canao_latency::calibrate::{Accuracy, Calibration, to_csv};
use canao_latency::measured::Statistic;
use serde_json::{Value, json};

use crate::cmd::backend::parse_threads;
use crate::cmd::plot;
use crate::cmd::run_dir::out_dir;
use crate::cmd::train_report::write_atomic;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the profile (the CSV goes beside it); default device-profiles/host-<cpu>.ron.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The run folder showing the fit (report.json, workloads.csv, fit.svg, a copy of the
    /// profile, index.html) [default: results/profile-<profile name>].
    #[arg(long)]
    report: Option<PathBuf>,
    /// A small slice of the calibration set (short sequences): seconds instead of minutes.
    #[arg(long)]
    quick: bool,
    #[arg(long, default_value_t = 1, value_parser = parse_threads)]
    threads: usize,
    /// Timing rounds per pass (each runs every workload of a group once); the same flag as
    /// `predict --validate --rounds`.
    #[arg(long)]
    rounds: Option<usize>,
    /// Passes over the whole set, so each workload's rounds are spread over the calibration.
    #[arg(long)]
    passes: Option<usize>,
    /// How a workload's rounds become one time: min (the fastest round, what repeats on a shared
    /// host) or median (slow spells of the host included), over rounds and then over passes.
    /// Validation uses the profile's choice.
    #[arg(long, default_value = "min")]
    statistic: Statistic,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

fn accuracy(a: &Accuracy) -> Value {
    json!({"count": a.count, "mape": a.mape, "within_10pct": a.within_10pct})
}

fn show(what: &str, a: &Accuracy) {
    eprintln!(
        "  {what:<34} n = {:>4}  mape {:>5.1} %  within 10 %: {:>5.1} %",
        a.count,
        a.mape,
        100.0 * a.within_10pct
    );
}

pub fn run(a: Args) -> Result<()> {
    let host = Host::probe(running_isa());
    eprintln!(
        "host {} ({}, {} cores, {:.2} GHz, caches {:?} KiB, read bandwidth {:.1} GB/s)",
        host.hostname, host.cpu, host.cores, host.ghz, host.caches_kib, host.bandwidth_gbs
    );
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from(format!("device-profiles/{}.ron", host.profile_name())));
    let csv_path = out.with_extension("csv");
    // Named as its file, so `--out device-profiles/NAME.ron` gives the profile NAME (two hosts
    // that call their CPUs alike would otherwise share a name).
    let name = out
        .file_stem()
        .map_or_else(|| host.profile_name(), |s| s.to_string_lossy().into_owned());
    // Made (and found writable) before minutes of measuring, not after.
    let run = out_dir(a.report.as_deref(), &format!("profile-{name}"))?;
    let opts = Options {
        quick: a.quick,
        threads: a.threads,
        timing: Timing {
            rounds: a.rounds.unwrap_or(if a.quick { 3 } else { 9 }),
            passes: a.passes.unwrap_or(if a.quick { 1 } else { 3 }),
            statistic: a.statistic,
        },
        seed: a.seed,
        ghz: host.ghz,
        bandwidth_gbs: host.bandwidth_gbs,
        resident_bytes: host.resident_bytes(),
    };
    let cal = calibrate(&opts, &mut |what| eprintln!("{what}"))?;
    let csv_name = csv_path
        .file_name()
        .context("output path has no file name")?
        .to_string_lossy()
        .to_string();
    let mut profile = host.profile(cal.fitted.clone(), &csv_name);
    profile.name = name;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_atomic(&csv_path, to_csv(&cal.measured, host.resident_bytes()).as_bytes())?;
    let header = format!(
        "// Fitted by `canao profile{}{}` on {} ({}), {} thread(s).\n// Held-out workloads: mape {:.1} %, {:.0} % within 10 %. Raw data: {csv_name}.\n",
        if a.quick { " --quick" } else { "" },
        if a.statistic == Statistic::Min {
            ""
        } else {
            " --statistic median"
        },
        host.hostname,
        canao_latency::today(),
        a.threads,
        cal.totals_held_out.mape,
        100.0 * cal.totals_held_out.within_10pct
    );
    let ron = header + &profile.to_ron();
    write_atomic(&out, ron.as_bytes())?;
    let summary = json!({
        "profile": out, "csv": csv_path, "workloads": cal.measured.len(),
        "steps_fit": accuracy(&cal.steps_fit), "steps_held_out": accuracy(&cal.steps_held_out),
        "totals_held_out": accuracy(&cal.totals_held_out), "graph_scale": cal.fitted.graph_scale,
        "host": {"name": host.hostname, "cpu": host.cpu, "isa": host.isa, "cores": host.cores, "ghz": host.ghz,
                 "bandwidth_gbs": host.bandwidth_gbs},
        "config": {"quick": a.quick, "threads": a.threads, "rounds": opts.timing.rounds,
                   "passes": opts.timing.passes, "statistic": a.statistic.name(), "seed": a.seed},
    });
    write_run(&run, &cal, &profile.name, &ron, &summary)?;
    if a.json {
        println!("{summary}");
    } else {
        eprintln!("accuracy:");
        show("kernels, fitted workloads", &cal.steps_fit);
        show("kernels, held-out workloads", &cal.steps_held_out);
        show("whole graphs, held-out workloads", &cal.totals_held_out);
        eprintln!(
            "  a whole graph takes {:.3}x the sum of its steps' predictions (median over fitted workloads)",
            cal.fitted.graph_scale
        );
        println!(
            "wrote {} and {}; the fit is shown in {}",
            out.display(),
            csv_path.display(),
            run.display()
        );
    }
    Ok(())
}

/// The run folder: the profile as written, each workload's predicted and measured time (table and
/// plot, fitted and held-out workloads apart), the summary, and the page.
fn write_run(dir: &Path, cal: &Calibration, name: &str, ron: &str, summary: &Value) -> Result<()> {
    write_atomic(&dir.join("profile.ron"), ron.as_bytes())?;
    let mut csv = String::from("workload,split,measured_ms,predicted_ms,error_pct\n");
    for t in &cal.totals {
        let split = if t.held_out { "held_out" } else { "fit" };
        let err = 100.0 * (t.predicted_ms - t.measured_ms) / t.measured_ms;
        csv.push_str(&format!(
            "{},{split},{:.4},{:.4},{err:.1}\n",
            t.name, t.measured_ms, t.predicted_ms
        ));
    }
    write_atomic(&dir.join("workloads.csv"), csv.as_bytes())?;
    let points = |held: bool| -> Vec<(f64, f64)> {
        cal.totals
            .iter()
            .filter(|t| t.held_out == held)
            .map(|t| (t.measured_ms, t.predicted_ms))
            .collect()
    };
    let (fit, held) = (points(false), points(true));
    let held_label = format!(
        "held out: {:.0} % within 10 %, MAPE {:.1} %",
        100.0 * cal.totals_held_out.within_10pct,
        cal.totals_held_out.mape
    );
    plot::scatter(
        &dir.join("fit.svg"),
        &format!("{name}: whole workloads, predicted against measured"),
        "measured (ms, host drift taken out)",
        "predicted (ms)",
        &[
            ("fitted on", plotters::style::BLUE, &fit),
            (&held_label, plotters::style::GREEN, &held),
        ],
        true,
    )?;
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(summary)?)?;
    crate::cmd::report::refresh(dir);
    Ok(())
}
