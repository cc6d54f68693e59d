//! `canao search`: the main job. Finds the best student of MiniLM under a device's latency limit
//! with a chosen strategy, logging every evaluation, and writes the run's report and plots to
//! results/<run-id>/. `--resume DIR` continues a killed run from its log.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use canao_nn::{MiniLm, StudentArch, assets, reviews_from_cache};
use canao_search::strategy::StrategyKind;
use canao_search::{
    Budget, Evaluation, LatencyObjective, Record, Report, Reward, Runner, SearchLog, SearchSpace, StudentObjective,
    StudentScorer, Students, Task, Teacher, best_so_far, pareto_front,
};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

use crate::cmd::plot;
use crate::cmd::predict::load_profile;
use crate::cmd::search_distill::{DistillOptions, DistillReport, distill_top};

/// The run.ron format version this build writes and reads.
const RUN_VERSION: u32 = 1;
/// The default latency limit as a share of the teacher's predicted latency.
const DEFAULT_LIMIT_SHARE: f64 = 0.5;

/// What is searched and for which device: shared by `search` and `compare`.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The search space (RON).
    #[arg(long, default_value = "search-spaces/minilm.ron")]
    pub space: PathBuf,
    /// A device profile: a path, or a name under device-profiles/.
    #[arg(long, default_value = "snapdragon-855")]
    pub device: String,
    /// DVFS level of the profile (0 = fastest).
    #[arg(long, default_value_t = 0)]
    pub level: usize,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Latency limit in ms; by default half the teacher's predicted latency on the device.
    #[arg(long)]
    latency_ms: Option<f64>,
    /// random, evolution, rl, greedy or zeroth-order.
    #[arg(long, default_value = "rl")]
    strategy: StrategyKind,
    /// Distinct candidates to evaluate.
    #[arg(long, default_value_t = 200)]
    budget: usize,
    /// Wall-clock limit of the search in seconds (over resumed sessions too).
    #[arg(long, default_value_t = 480.0)]
    time_limit: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Reward lost per unit of relative latency overshoot.
    #[arg(long, default_value_t = 2.0)]
    penalty: f64,
    /// Candidates evaluated at once (default: the available cores).
    #[arg(long)]
    parallel: Option<usize>,
    /// Also time every candidate here (reported beside the prediction).
    #[arg(long)]
    measure: bool,
    /// Snippets for the probe's training and test sets.
    #[arg(long)]
    train: Option<usize>,
    #[arg(long)]
    test: Option<usize>,
    /// Output folder (default: results/<run-id>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this folder; its run.ron fixes every setting (but the distillation
    /// options, which are this command line's).
    #[arg(long)]
    resume: Option<PathBuf>,
    #[command(flatten)]
    distill: DistillOptions,
}

/// A run's resolved configuration, written before the first evaluation.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunConfig {
    version: u32,
    space_file: String,
    space: SearchSpace,
    device: String,
    level: usize,
    reward: Reward,
    strategy: StrategyKind,
    seed: u64,
    budget: Budget,
    parallel: usize,
    task: Task,
    measure: bool,
    /// The teacher scored like every candidate; the default limit derives from its latency.
    teacher: Evaluation,
}

pub fn run(a: Args) -> Result<()> {
    let (dir, config, objective) = match &a.resume {
        Some(dir) => {
            let path = dir.join("run.ron");
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let config: RunConfig = ron::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            if config.version != RUN_VERSION {
                bail!(
                    "{}: version {}, this build reads {RUN_VERSION}",
                    path.display(),
                    config.version
                );
            }
            let objective = student_objective(
                &config.space,
                &config.device,
                config.level,
                &config.task,
                config.measure,
            )?;
            (dir.clone(), config, objective)
        }
        None => fresh(&a)?,
    };
    let log_path = dir.join("log.jsonl");
    let (mut log, logged) = if a.resume.is_some() {
        SearchLog::resume(&log_path)?
    } else {
        (SearchLog::create(&log_path)?, Vec::new())
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
        parallel: config.parallel,
    };
    let mut strategy = config.strategy.build(&config.space.cardinalities(), config.seed)?;
    let outcome = runner.run(strategy.as_mut(), &mut log, logged, &|r: &Record| {
        let mut b = best.lock().expect("best lock");
        *b = b.max(r.reward);
        bar.inc(1);
        bar.set_message(format!("best reward {:.4}", *b));
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
    bar.finish();
    let mut report = Report::new(&outcome, &config.reward);
    report.teacher = Some(config.teacher.clone());
    write_report(&dir, &report, &outcome.records, &config)?;
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

/// Resolves a new run's configuration, scores the teacher and creates the output folder.
fn fresh(a: &Args) -> Result<(PathBuf, RunConfig, Box<dyn StudentScorer>)> {
    let space = SearchSpace::from_file(&a.target.space)?;
    let profile = load_profile(&a.target.device)?;
    if let Some(ms) = a.latency_ms
        && !(ms.is_finite() && ms > 0.0)
    {
        bail!("--latency-ms must be a positive number of milliseconds, got {ms}");
    }
    if a.budget == 0 || a.time_limit.is_nan() || a.time_limit <= 0.0 || a.parallel == Some(0) {
        bail!("--budget, --time-limit and --parallel must be above 0");
    }
    let dir = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!(
            "search-{}-{}-{}-seed{}-{}",
            space.name,
            profile.name.replace(' ', "_"),
            a.strategy.name(),
            a.seed,
            timestamp()
        ))
    });
    if dir.join("log.jsonl").exists() {
        bail!(
            "{} already holds a search log; continue it with --resume {0}",
            dir.display()
        );
    }
    let defaults = Task::default();
    let task = Task {
        train: a.train.unwrap_or(defaults.train),
        test: a.test.unwrap_or(defaults.test),
        ..defaults
    };
    let objective = student_objective(&space, &a.target.device, a.target.level, &task, a.measure)?;
    let teacher = objective.evaluate_student(&StudentArch::identity(&space.teacher_arch()))?;
    let config = RunConfig {
        version: RUN_VERSION,
        space_file: a.target.space.display().to_string(),
        space,
        device: a.target.device.clone(),
        level: a.target.level,
        reward: Reward {
            latency_limit_ms: a.latency_ms.unwrap_or(DEFAULT_LIMIT_SHARE * teacher.latency_ms),
            penalty: a.penalty,
        },
        strategy: a.strategy,
        seed: a.seed,
        budget: Budget {
            evaluations: a.budget,
            seconds: Some(a.time_limit),
        },
        parallel: a.parallel.unwrap_or_else(rayon_threads),
        task,
        measure: a.measure,
        teacher,
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let text = ron::ser::to_string_pretty(&config, ron::ser::PrettyConfig::default()).expect("configs serialise");
    std::fs::write(dir.join("run.ron"), text).with_context(|| format!("writing {}/run.ron", dir.display()))?;
    Ok((dir, config, objective))
}

/// The evaluator of a space on a device: MiniLM students are scored on the sentiment task (the
/// teacher and corpus come from the asset cache, and the probe snippets are embedded with the
/// teacher first, a few seconds); students of a teacher without weights (BERT-base) by capacity.
pub fn student_objective(
    space: &SearchSpace,
    device: &str,
    level: usize,
    task: &Task,
    measure: bool,
) -> Result<Box<dyn StudentScorer>> {
    let profile = load_profile(device)?;
    if space.teacher != Teacher::Minilm {
        eprintln!(
            "space `{}` has no teacher weights: latency-only search, score = share of the teacher's weights kept",
            space.name
        );
        return Ok(Box::new(LatencyObjective::new(space.clone(), profile, level)?));
    }
    let home = assets::canao_home();
    let mut say = |line: &str| eprintln!("{line}");
    let reviews = reviews_from_cache(&home, &mut say)?;
    let teacher = MiniLm::from_cache(&home, &mut say)?;
    eprintln!("embedding the probe snippets with the teacher ...");
    Ok(Box::new(StudentObjective::new(
        space.clone(),
        teacher,
        &reviews,
        task.clone(),
        profile,
        level,
        measure,
    )?))
}

pub fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// UTC date and time as YYYYMMDD-HHMMSS, for run folder names.
pub(crate) fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let day = secs % 86_400;
    format!(
        "{}-{:02}{:02}{:02}",
        canao_latency::today().replace('-', ""),
        day / 3600,
        day / 60 % 60,
        day % 60
    )
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
    Ok(())
}

fn print_summary(dir: &Path, report: &Report, evaluated_now: usize) {
    println!(
        "{} evaluations ({evaluated_now} in this session), stopped on {:?} after {:.0} s",
        report.evaluations, report.stop_reason, report.wall_s
    );
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
