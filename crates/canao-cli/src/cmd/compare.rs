//! `canao compare`: every strategy at equal budget, over several seeds and latency limits, on one
//! shared evaluator, summarised in a table and plots. Evaluations are shared between runs (the
//! evaluator is deterministic, so a candidate two runs both propose is scored once) and every run
//! keeps its own log: an interrupted comparison continues where it stopped when run again.
//! With `--storage`, every run is a study in PostgreSQL, all run at once, and `canao worker`
//! processes on any machine evaluate their candidates.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use canao_search::strategy::StrategyKind;
use std::time::Duration;

use canao_search::{Budget, Evaluation, Memo, Report, Reward, Runner, SearchSpace, Students, Task, best_so_far};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::style::RGBColor;

use crate::cmd::locate::load_space;
use crate::cmd::plot;
use canao_search::{RUN_VERSION, RunConfig};

use crate::cmd::search_setup::{Target, rayon_threads, student_objective};
use crate::cmd::search_store::{DEFAULT_LEASE_S, RunStore, StorageOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// Latency limits as shares of the teacher's predicted latency.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.5,0.3",
        allow_negative_numbers = true
    )]
    limits: Vec<f64>,
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "random,evolution,rl,greedy,zeroth-order"
    )]
    strategies: Vec<StrategyKind>,
    #[arg(long, value_delimiter = ',', default_value = "0,1,2")]
    seeds: Vec<u64>,
    /// Distinct candidates per run.
    #[arg(long, default_value_t = 60)]
    budget: usize,
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
    penalty: f64,
    /// Candidates evaluated at once, and asked of each strategy at once (default: the available
    /// cores).
    #[arg(long)]
    parallel: Option<usize>,
    /// Keep every run as a study in PostgreSQL (postgres://USER:PASSWORD@HOST:PORT/DB) and run
    /// them all at once; `canao worker --storage URL` processes evaluate (this one evaluates
    /// nothing). Run again with the same URL, it continues.
    #[arg(long, value_name = "URL")]
    storage: Option<String>,
    /// With --storage: seconds a claim lasts without a heartbeat [default: 30].
    #[arg(long)]
    lease_s: Option<f64>,
    /// Probe split (smaller than a search's default, to keep the comparison affordable).
    #[arg(long, default_value_t = 300)]
    train: usize,
    #[arg(long, default_value_t = 200)]
    test: usize,
    #[arg(long, default_value = "results/search-comparison")]
    out: PathBuf,
}

/// One finished run of the comparison.
struct Run {
    share: f64,
    strategy: StrategyKind,
    report: Report,
    curve: Vec<f64>,
}

const COLOURS: [RGBColor; 5] = [
    RGBColor(120, 120, 120),
    RGBColor(30, 90, 200),
    RGBColor(200, 30, 30),
    RGBColor(30, 150, 60),
    RGBColor(200, 130, 0),
];

pub fn run(a: Args) -> Result<()> {
    anyhow::ensure!(
        a.limits.iter().all(|s| s.is_finite() && *s > 0.0),
        "--limits are shares of the teacher's latency, each above 0"
    );
    let space = load_space(a.target.space())?;
    let task = Task {
        train: a.train,
        test: a.test,
        ..Task::default()
    };
    let objective = student_objective(&space, a.target.device(), a.target.level(), &task, false)?;
    let teacher = objective.evaluate_teacher()?;
    let students = Students(objective.as_ref());
    let memo = Memo::new(&students);
    let parallel = a.parallel.unwrap_or_else(rayon_threads);
    let total = a.limits.len() * a.strategies.len() * a.seeds.len();
    let bar = ProgressBar::new((total * a.budget) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} run evaluations, {elapsed} (eta {eta}) {msg}")
            .expect("a valid template"),
    );
    let lease = a.lease_s.unwrap_or(DEFAULT_LEASE_S);
    anyhow::ensure!(
        lease.is_finite() && lease > 0.0,
        "--lease-s must be a positive number of seconds, got {lease}"
    );
    let shared = Shared {
        memo: &memo,
        space: &space,
        target: &a.target,
        task: &task,
        teacher: &teacher,
        budget: a.budget,
        penalty: a.penalty,
        parallel,
        storage: StorageOptions {
            url: a.storage.clone(),
            // With a database, workers evaluate.
            threads: if a.storage.is_some() { 0 } else { parallel },
            lease: Duration::from_secs_f64(lease),
        },
        out: &a.out,
        bar: &bar,
    };
    let mut plan: Vec<(f64, StrategyKind, u64)> = Vec::new();
    for &share in &a.limits {
        for &strategy in &a.strategies {
            plan.extend(a.seeds.iter().map(|&seed| (share, strategy, seed)));
        }
    }
    let runs: Vec<Run> = if a.storage.is_some() {
        eprintln!(
            "{} runs queued as studies: evaluate them with canao worker --storage URL (on any machine)",
            plan.len()
        );
        std::thread::scope(|s| {
            let handles: Vec<_> = plan
                .iter()
                .map(|&(share, strategy, seed)| {
                    let shared = &shared;
                    s.spawn(move || shared.run(share, strategy, seed))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("comparison runs do not panic"))
                .collect::<Result<_>>()
        })?
    } else {
        plan.iter()
            .map(|&(share, strategy, seed)| {
                bar.set_message(format!("{} seed {seed} at {share} x teacher", strategy.name()));
                shared.run(share, strategy, seed)
            })
            .collect::<Result<_>>()?
    };
    bar.finish();
    eprintln!("{} candidates evaluated in all", memo.computed());
    let summary = summary(&a, &teacher, &runs);
    let path = a.out.join("summary.md");
    std::fs::write(&path, &summary).with_context(|| format!("writing {}", path.display()))?;
    for &share in &a.limits {
        curves(&a, share, &runs)?;
    }
    crate::cmd::report::refresh(&a.out);
    print!("{summary}");
    Ok(())
}

/// What every run of a comparison shares.
struct Shared<'a> {
    memo: &'a Memo<'a>,
    space: &'a SearchSpace,
    target: &'a Target,
    task: &'a Task,
    teacher: &'a Evaluation,
    budget: usize,
    penalty: f64,
    parallel: usize,
    storage: StorageOptions,
    out: &'a Path,
    bar: &'a ProgressBar,
}

impl Shared<'_> {
    /// Runs (or continues, or replays from its log) one strategy and seed at one limit.
    fn run(&self, share: f64, strategy: StrategyKind, seed: u64) -> Result<Run> {
        let reward = Reward {
            latency_limit_ms: share * self.teacher.latency_ms,
            penalty: self.penalty,
        };
        let run = Path::new(&format!("limit-{share}")).join(format!("{}-seed{seed}", strategy.name()));
        let dir = self.out.join(&run);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let config = self.config(&run, reward, strategy, seed);
        let (mut store, logged) = RunStore::open_or_create(&dir, &config, &self.storage)?;
        self.bar.inc(logged.len() as u64);
        let runner = Runner {
            objective: self.memo,
            reward,
            budget: config.budget,
            batch: config.batch,
        };
        let mut s = strategy.build(&self.space.cardinalities(), seed)?;
        let outcome = runner.run(s.as_mut(), store.store(), logged, &|_| self.bar.inc(1))?;
        store.finish(&dir, &outcome.records)?;
        // A run that stopped early (converged) still fills its share of the bar.
        self.bar.inc((self.budget - outcome.records.len()) as u64);
        let report = Report::new(&outcome, &reward);
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}/report.json", dir.display()))?;
        // One line per run, also when the bar is hidden (output not a terminal).
        self.bar.suspend(|| {
            eprintln!(
                "limit {share} x teacher, {} seed {seed}: best score {} ({} candidates scored here so far)",
                strategy.name(),
                report
                    .best
                    .as_ref()
                    .filter(|b| b.meets_limit)
                    .map_or("-".into(), |b| format!("{:.4}", b.score)),
                self.memo.computed()
            )
        });
        Ok(Run {
            share,
            strategy,
            curve: best_so_far(&outcome.records),
            report,
        })
    }

    /// The run as a `canao search` run.ron: what a worker builds the objective from.
    fn config(&self, run: &Path, reward: Reward, strategy: StrategyKind, seed: u64) -> RunConfig {
        let out = self
            .out
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        RunConfig {
            version: RUN_VERSION,
            space_file: self.target.space().to_string(),
            space: self.space.clone(),
            device: self.target.device().to_string(),
            level: self.target.level(),
            reward,
            strategy,
            seed,
            budget: Budget {
                evaluations: self.budget,
                seconds: None,
            },
            batch: self.parallel,
            study: self.storage.url.as_ref().map(|_| format!("{out}/{}", run.display())),
            task: self.task.clone(),
            measure: false,
            teacher: self.teacher.clone(),
        }
    }
}

fn join(v: &[f64]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn summary(a: &Args, teacher: &canao_search::Evaluation, runs: &[Run]) -> String {
    let mut s = String::new();
    let seeds: Vec<String> = a.seeds.iter().map(|x| x.to_string()).collect();
    let _ = writeln!(
        s,
        "# Search strategies compared\n\n{} students of MiniLM on `{}` (level {}), {} distinct candidates \
         per run, seeds {}, probe split {} train / {} test, reward penalty {}.\n\n\
         Teacher: probe accuracy {:.3}, fidelity 1, score {:.4}, predicted latency {:.2} ms, {:.1} mJ.\n\n\
         Score = (probe accuracy + fidelity) / 2. Per run, the best candidate meeting the limit \
         (`-` when none did).\n\n\
         Command (run again, it replays the logs below and rewrites this file):\n\n\
         ```sh\ncanao compare --space {} --device {} --level {} --limits {} --strategies {} --seeds {} \
         --budget {} --penalty {} --train {} --test {} --out {}\n```\n",
        a.target.space(),
        a.target.device(),
        a.target.level(),
        a.budget,
        seeds.join(", "),
        a.train,
        a.test,
        a.penalty,
        teacher.accuracy,
        teacher.score,
        teacher.latency_ms,
        teacher.energy_mj,
        a.target.space(),
        a.target.device(),
        a.target.level(),
        join(&a.limits),
        a.strategies.iter().map(|k| k.name()).collect::<Vec<_>>().join(","),
        seeds.join(","),
        a.budget,
        a.penalty,
        a.train,
        a.test,
        a.out.display(),
    );
    for &share in &a.limits {
        let limit = share * teacher.latency_ms;
        let _ = writeln!(
            s,
            "## Limit {limit:.2} ms ({share} x teacher)\n\n\
             | strategy | best score per seed | mean score (sd) | mean accuracy | mean latency (ms) | runs meeting the limit |\n\
             |---|---|---|---|---|---|"
        );
        for &strategy in &a.strategies {
            let mine: Vec<&Run> = runs
                .iter()
                .filter(|r| r.share == share && r.strategy == strategy)
                .collect();
            let met: Vec<&canao_search::Candidate> = mine
                .iter()
                .filter_map(|r| r.report.best.as_ref().filter(|b| b.meets_limit))
                .collect();
            let per_seed: Vec<String> = mine
                .iter()
                .map(|r| match &r.report.best {
                    Some(b) if b.meets_limit => format!("{:.4}", b.score),
                    _ => "-".into(),
                })
                .collect();
            let (score, sd) = mean_sd(&met.iter().map(|b| b.score).collect::<Vec<_>>());
            let (acc, _) = mean_sd(&met.iter().map(|b| b.accuracy).collect::<Vec<_>>());
            let (ms, _) = mean_sd(&met.iter().map(|b| b.latency_ms).collect::<Vec<_>>());
            let _ = writeln!(
                s,
                "| {} | {} | {score:.4} ({sd:.4}) | {acc:.3} | {ms:.2} | {}/{} |",
                strategy.name(),
                per_seed.join(" / "),
                met.len(),
                mine.len()
            );
        }
        let _ = writeln!(s, "\n![best reward so far](limit-{share}.svg)\n");
    }
    s
}

/// A labelled, coloured line of a plot.
type Line = (String, RGBColor, Vec<(f64, f64)>);

/// Mean best-so-far reward per strategy against evaluations, for one limit.
fn curves(a: &Args, share: f64, runs: &[Run]) -> Result<()> {
    let lines: Vec<Line> = a
        .strategies
        .iter()
        .enumerate()
        .map(|(i, &strategy)| {
            let mine: Vec<&Run> = runs
                .iter()
                .filter(|r| r.share == share && r.strategy == strategy)
                .collect();
            let len = mine.iter().map(|r| r.curve.len()).min().unwrap_or(0);
            let mean = (0..len)
                .map(|k| {
                    let v = mine.iter().map(|r| r.curve[k]).sum::<f64>() / mine.len() as f64;
                    (k as f64 + 1.0, v)
                })
                .collect();
            (strategy.name().to_string(), COLOURS[i % COLOURS.len()], mean)
        })
        .collect();
    let series: Vec<plot::Series> = lines.iter().map(|(n, c, p)| (n.as_str(), *c, p.as_slice())).collect();
    plot::xy(
        &a.out.join(format!("limit-{share}.svg")),
        &format!("best reward so far, mean over seeds ({share} x teacher latency)"),
        "evaluation",
        "best reward",
        &[],
        &series,
        None,
    )
}
