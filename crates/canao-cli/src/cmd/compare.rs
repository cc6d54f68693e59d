//! `canao compare`: every strategy at equal budget, over several seeds and latency limits, on one
//! shared evaluator, summarised in a table and plots. Evaluations are shared between runs (the
//! evaluator is deterministic, so a candidate two runs both propose is scored once) and every run
//! keeps its own log: an interrupted comparison continues where it stopped when run again.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use canao_search::strategy::StrategyKind;
use canao_search::{
    Budget, LocalStore, Memo, Record, Report, Reward, Runner, SearchLog, SearchSpace, Students, Task, best_so_far,
};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::style::RGBColor;

use crate::cmd::locate::load_space;
use crate::cmd::plot;
use crate::cmd::search_setup::{Target, rayon_threads, student_objective};

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
    #[arg(long)]
    parallel: Option<usize>,
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
    let shared = Shared {
        memo: &memo,
        space: &space,
        budget: a.budget,
        parallel,
        bar: &bar,
    };
    let mut runs = Vec::new();
    for &share in &a.limits {
        let reward = Reward {
            latency_limit_ms: share * teacher.latency_ms,
            penalty: a.penalty,
        };
        for &strategy in &a.strategies {
            for &seed in &a.seeds {
                let dir = a
                    .out
                    .join(format!("limit-{share}"))
                    .join(format!("{}-seed{seed}", strategy.name()));
                bar.set_message(format!("{} seed {seed} at {share} x teacher", strategy.name()));
                let (report, records) = shared.run(&dir, reward, strategy, seed)?;
                // One line per run, also when the bar is hidden (output not a terminal).
                bar.suspend(|| {
                    eprintln!(
                        "limit {share} x teacher, {} seed {seed}: best score {} ({} candidates scored so far)",
                        strategy.name(),
                        report
                            .best
                            .as_ref()
                            .filter(|b| b.meets_limit)
                            .map_or("-".into(), |b| format!("{:.4}", b.score)),
                        memo.computed()
                    )
                });
                runs.push(Run {
                    share,
                    strategy,
                    curve: best_so_far(&records),
                    report,
                });
            }
        }
    }
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
    budget: usize,
    parallel: usize,
    bar: &'a ProgressBar,
}

impl Shared<'_> {
    /// Runs (or continues, or replays from its log) one strategy and seed.
    fn run(&self, dir: &Path, reward: Reward, strategy: StrategyKind, seed: u64) -> Result<(Report, Vec<Record>)> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let log_path = dir.join("log.jsonl");
        let (log, logged) = if log_path.exists() {
            SearchLog::resume(&log_path)?
        } else {
            (SearchLog::create(&log_path)?, Vec::new())
        };
        self.bar.inc(logged.len() as u64);
        let runner = Runner {
            objective: self.memo,
            reward,
            budget: Budget {
                evaluations: self.budget,
                seconds: None,
            },
            batch: self.parallel,
        };
        let mut s = strategy.build(&self.space.cardinalities(), seed)?;
        let mut store = LocalStore::new(log, self.parallel)?;
        let outcome = runner.run(s.as_mut(), &mut store, logged, &|_| self.bar.inc(1))?;
        // A run that stopped early (converged) still fills its share of the bar.
        self.bar.inc((self.budget - outcome.records.len()) as u64);
        let report = Report::new(&outcome, &reward);
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}/report.json", dir.display()))?;
        Ok((report, outcome.records))
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
