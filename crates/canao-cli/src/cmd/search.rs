//! `canao search`: the main job. Finds the best student of MiniLM under a device's latency limit
//! with a chosen strategy, logging every evaluation, and writes the run's report and plots to
//! results/<run-id>/. `--resume DIR` continues a killed run from its log.

use std::path::{Path, PathBuf};

use std::time::Duration;

use anyhow::{Context, Result, bail};
use canao_search::strategy::StrategyKind;
use canao_search::{Record, Report, RunConfig, Runner, StopReason, Students, Teacher, best_so_far, pareto_front};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::style::RGBColor;

use crate::cmd::plot;
use crate::cmd::report;
use crate::cmd::search_distill::{DistillOptions, DistillReport, distill_top};
use crate::cmd::search_setup::{Target, fresh, rayon_threads, reopen, student_objective};
use crate::cmd::search_store::{DEFAULT_LEASE_S, StorageOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub(super) target: Target,
    /// Latency limit in ms; by default half the teacher's predicted latency on the device.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) latency_ms: Option<f64>,
    /// random, evolution, rl, greedy or zeroth-order [default: rl].
    #[arg(long)]
    pub(super) strategy: Option<StrategyKind>,
    /// Distinct candidates to evaluate; the run stops on this [default: 200]. With --resume, a
    /// larger budget extends the run.
    #[arg(long)]
    pub(super) budget: Option<usize>,
    /// Wall-clock guard of the search in seconds, over resumed sessions too [default: 7200]. A
    /// run it ends depends on this machine's speed, and the summary says so.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) time_limit: Option<f64>,
    /// [default: 0]
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// Reward lost per unit of relative latency overshoot [default: 2].
    #[arg(long, allow_negative_numbers = true)]
    pub(super) penalty: Option<f64>,
    /// Candidates evaluated at once here (default: the available cores). 0 with --storage: this
    /// process only runs the strategy and workers evaluate.
    #[arg(long)]
    pub(super) parallel: Option<usize>,
    /// Candidates asked of the strategy at once: what a seed's result depends on [default:
    /// --parallel]. Give the workers' total with --storage.
    #[arg(long)]
    pub(super) batch: Option<usize>,
    /// Keep the run's log and queue in PostgreSQL (postgres://USER:PASSWORD@HOST:PORT/DB), where
    /// `canao worker` processes on any machine evaluate its candidates. A resumed run needs the
    /// same URL.
    #[arg(long, value_name = "URL")]
    pub(super) storage: Option<String>,
    /// With --storage: seconds a claim lasts without a heartbeat before another worker may take
    /// the candidate [default: 30].
    #[arg(long)]
    pub(super) lease_s: Option<f64>,
    /// Also time every candidate here (reported beside the prediction).
    #[arg(long)]
    pub(super) measure: bool,
    /// Snippets for the probe's training and test sets.
    #[arg(long)]
    pub(super) train: Option<usize>,
    #[arg(long)]
    pub(super) test: Option<usize>,
    /// Output folder (default: results/<run-id>).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Continue the run in this folder; its run.ron fixes every setting but --budget and
    /// --time-limit, which may extend it (the distillation options are this command line's).
    #[arg(long)]
    pub(super) resume: Option<PathBuf>,
    #[command(flatten)]
    distill: DistillOptions,
}

impl Args {
    pub(super) fn storage_options(&self) -> StorageOptions {
        StorageOptions {
            url: self.storage.clone(),
            threads: self.parallel.unwrap_or_else(rayon_threads),
            lease: Duration::from_secs_f64(self.lease_s.unwrap_or(DEFAULT_LEASE_S)),
        }
    }
}

pub fn run(a: Args) -> Result<()> {
    if let Some(s) = a.lease_s
        && !(s.is_finite() && s > 0.0)
    {
        bail!("--lease-s must be a positive number of seconds, got {s}");
    }
    let (dir, config, objective, mut store, logged) = match &a.resume {
        Some(dir) => {
            let (config, store, logged) = reopen(&a, dir)?;
            let objective = student_objective(
                &config.space,
                &config.device,
                config.level,
                &config.task,
                config.measure,
            )?;
            (dir.clone(), config, objective, store, logged)
        }
        None => {
            let (dir, config, objective, store) = fresh(&a)?;
            (dir, config, objective, store, Vec::new())
        }
    };
    eprintln!(
        "searching space `{}` ({:?} students) on {} (limit {:.2} ms; teacher {:.2} ms, accuracy {:.3}) with {}, \
         seed {}; {} evaluations logged before",
        config.space.name,
        config.space.teacher,
        config.device,
        config.reward.latency_limit_ms,
        config.teacher.latency_ms,
        config.teacher.accuracy,
        config.strategy.name(),
        config.seed,
        logged.len()
    );
    let bar = ProgressBar::new(config.budget.evaluations as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} evaluations, {elapsed} (eta {eta}) {msg}")
            .expect("a valid template"),
    );
    bar.set_position(logged.len() as u64);
    let best = std::sync::Mutex::new(logged.iter().map(|r| r.reward).fold(f64::NEG_INFINITY, f64::max));
    let runner = Runner {
        objective: &Students(objective.as_ref()),
        reward: config.reward,
        budget: config.budget,
        batch: config.batch,
    };
    let mut strategy = config.strategy.build(&config.space.cardinalities(), config.seed)?;
    if let Some(study) = &config.study {
        eprintln!("queueing candidates in study `{study}`: serve it with canao worker --storage URL");
    }
    let outcome = runner.run(strategy.as_mut(), store.store(), logged, &|r: &Record| {
        let mut b = best.lock().expect("best lock");
        *b = b.max(r.reward);
        bar.inc(1);
        bar.set_message(format!("best reward {:.4}", *b));
        if bar.position().is_multiple_of(10) {
            report::refresh(&dir);
        }
        // Without a terminal the bar is hidden: a line every 10 evaluations instead.
        if bar.is_hidden() && bar.position().is_multiple_of(10) {
            eprintln!(
                "{}/{} evaluations, {:.0} s, best reward {:.4}",
                bar.position(),
                bar.length().unwrap_or(0),
                r.elapsed_s,
                *b
            );
        }
    })?;
    store.finish(&dir, &outcome.records)?;
    // The summary below repeats the count; a finished bar would sit under it.
    bar.finish_and_clear();
    let mut report = Report::new(&outcome, &config.reward);
    report.teacher = Some(config.teacher.clone());
    write_report(&dir, &report, &outcome.records, &config)?;
    report::refresh(&dir);
    print_summary(&dir, &report, outcome.evaluated_now);
    let distill = if config.space.teacher == Teacher::Minilm {
        distill_top(&dir, &outcome.records, &a.distill, config.seed)?
    } else {
        if a.distill.distill_top > 0 {
            eprintln!(
                "space `{}` has no teacher weights: nothing to distil from",
                config.space.name
            );
        }
        None
    };
    if let Some(d) = distill {
        add_distilled(&dir, &d)?;
        println!(
            "fine-tuned teacher: test accuracy {:.4} ({})",
            d.teacher.test_accuracy, d.teacher.dir
        );
        for (k, s) in d.students.iter().enumerate() {
            println!(
                "distilled student {k}: test accuracy {:.4}, {:.2} ms predicted, {:.0} s of training ({})",
                s.trained.test_accuracy, s.latency_ms, s.trained.train_wall_s, s.trained.dir
            );
        }
    }
    Ok(())
}

fn write_report(dir: &Path, report: &Report, records: &[Record], config: &RunConfig) -> Result<()> {
    let path = dir.join("report.json");
    std::fs::write(&path, serde_json::to_string_pretty(report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    let all: Vec<(f64, f64)> = records
        .iter()
        .map(|r| (r.evaluation.latency_ms, r.evaluation.score))
        .collect();
    let front: Vec<(f64, f64)> = pareto_front(records)
        .iter()
        .map(|r| (r.evaluation.latency_ms, r.evaluation.score))
        .collect();
    let teacher = [(config.teacher.latency_ms, config.teacher.score)];
    plot::xy(
        &dir.join("pareto.svg"),
        &format!(
            "{} on {}: score vs predicted latency (limit {:.1} ms)",
            config.space.name, config.device, config.reward.latency_limit_ms
        ),
        "predicted latency (ms)",
        "score (probe accuracy and fidelity)",
        &[
            ("candidates", RGBColor(150, 150, 150), &all),
            ("teacher", RGBColor(200, 30, 30), &teacher),
        ],
        &[("Pareto front", RGBColor(30, 90, 200), &front)],
        Some(config.reward.latency_limit_ms),
    )?;
    let rewards: Vec<(f64, f64)> = records.iter().map(|r| (r.index as f64 + 1.0, r.reward)).collect();
    let best: Vec<(f64, f64)> = best_so_far(records)
        .into_iter()
        .enumerate()
        .map(|(i, b)| (i as f64 + 1.0, b))
        .collect();
    plot::xy(
        &dir.join("curve.svg"),
        &format!(
            "{} search, seed {}: reward per evaluation",
            config.strategy.name(),
            config.seed
        ),
        "evaluation",
        "reward",
        &[("candidate", RGBColor(150, 150, 150), &rewards)],
        &[("best so far", RGBColor(30, 90, 200), &best)],
        None,
    )
}

/// Adds the distillation results to `report.json` as `distilled`.
fn add_distilled(dir: &Path, d: &DistillReport) -> Result<()> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut report: serde_json::Value = serde_json::from_str(&text)?;
    report["distilled"] = serde_json::to_value(d)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    report::refresh(dir);
    Ok(())
}

fn print_summary(dir: &Path, report: &Report, evaluated_now: usize) {
    println!(
        "{} evaluations ({evaluated_now} in this session), stopped on {} after {:.0} s",
        report.evaluations, report.stop_reason, report.wall_s
    );
    if report.stop_reason == StopReason::WallTime {
        println!(
            "  warning: the wall-time guard ended the run before its evaluation budget, so this result \
             depends on the machine's speed; finish it with --resume {} --time-limit SECONDS",
            dir.display()
        );
    }
    if let Some(t) = &report.teacher {
        println!(
            "teacher: accuracy {:.3}, score {:.4}, {:.2} ms, {:.2} mJ",
            t.accuracy, t.score, t.latency_ms, t.energy_mj
        );
    }
    match &report.best {
        Some(b) => println!(
            "best{}: accuracy {:.3}, score {:.4}, {:.2} ms (limit {:.2}), {:.2} mJ\n  {}",
            if b.meets_limit { "" } else { " (NONE meets the limit)" },
            b.accuracy,
            b.score,
            b.latency_ms,
            report.latency_limit_ms,
            b.energy_mj,
            b.arch
        ),
        None => println!("no candidate was evaluated"),
    }
    println!(
        "wrote {}/{{run.ron,log.jsonl,report.json,pareto.svg,curve.svg}}",
        dir.display()
    );
}
