//! Setting up a `canao search` run. A fresh run checks every flag and that its folder is writable
//! before the expensive part (loading the teacher, scoring it); a resumed run reads its log
//! before loading anything, and its run.ron fixes every setting but an explicitly larger budget.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use canao_cpu::CpuRuntime;
use canao_latency::PlanPredictor;
use canao_models::{MiniLm, assets, reviews_from_cache};
use canao_search::{
    Budget, LatencyObjective, RUN_VERSION, Record, Reward, RunConfig, SearchSpace, StudentObjective, StudentScorer,
    Task, Teacher,
};

use crate::cmd::locate::{check_host, load_profile, load_space};
use crate::cmd::progress::spinner;
use crate::cmd::search::Args;
use crate::cmd::search_store::RunStore;

/// The default latency limit as a share of the teacher's predicted latency.
const DEFAULT_LIMIT_SHARE: f64 = 0.5;
pub const DEFAULT_SPACE: &str = "minilm";
pub const DEFAULT_DEVICE: &str = "snapdragon-855";
/// A run stops on its evaluation budget, so a seed gives the same result on every machine.
pub const DEFAULT_BUDGET: usize = 200;
/// The wall-time guard: far above what the default budget takes on a slow 2-core host (about
/// 13 minutes), so it only ends runs gone wrong; the report says when it did.
pub const DEFAULT_TIME_LIMIT_S: f64 = 7200.0;
pub const DEFAULT_PENALTY: f64 = 2.0;

/// What is searched and for which device: shared by `search` and `compare`.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The search space: a path, or a built-in name (minilm, bert-base) [default: minilm].
    #[arg(long)]
    space: Option<String>,
    /// A device profile: a path, or a built-in name (snapdragon-855, rt3-reference,
    /// host-intel-xeon-2c) [default: snapdragon-855].
    #[arg(long)]
    device: Option<String>,
    /// DVFS level of the profile (0 = fastest) [default: 0].
    #[arg(long)]
    level: Option<usize>,
    /// Use a host profile measured on another CPU or instruction set (warns instead of refusing).
    #[arg(long)]
    other_host: bool,
}

impl Target {
    pub fn space(&self) -> &str {
        self.space.as_deref().unwrap_or(DEFAULT_SPACE)
    }

    pub fn device(&self) -> &str {
        self.device.as_deref().unwrap_or(DEFAULT_DEVICE)
    }

    pub fn level(&self) -> usize {
        self.level.unwrap_or(0)
    }
}

/// The flags of this command line that a resumed run's run.ron fixes.
fn fixed_by_the_run(a: &Args) -> Vec<&'static str> {
    [
        ("--space", a.target.space.is_some()),
        ("--device", a.target.device.is_some()),
        ("--level", a.target.level.is_some()),
        ("--latency-ms", a.latency_ms.is_some()),
        ("--strategy", a.strategy.is_some()),
        ("--seed", a.seed.is_some()),
        ("--penalty", a.penalty.is_some()),
        ("--batch", a.batch.is_some()),
        ("--measure", a.measure),
        ("--train", a.train.is_some()),
        ("--test", a.test.is_some()),
        ("--out", a.out.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, given)| given.then_some(flag))
    .collect()
}

fn check_time_limit(seconds: f64) -> Result<()> {
    if !(seconds.is_finite() && seconds > 0.0) {
        bail!("--time-limit is {seconds}: it must be a positive number of seconds");
    }
    Ok(())
}

/// A resumed run: its configuration (with `--budget` / `--time-limit` applied and saved), its
/// store and the records kept in it. Nothing expensive is loaded yet.
pub fn reopen(a: &Args, dir: &Path) -> Result<(RunConfig, RunStore, Vec<Record>)> {
    let fixed = fixed_by_the_run(a);
    if !fixed.is_empty() {
        bail!(
            "--resume {} continues the run with the settings in its run.ron, which {} cannot change; \
             drop {} (only --budget and --time-limit may be given, to extend the run)",
            dir.display(),
            fixed.join(", "),
            if fixed.len() == 1 { "it" } else { "them" }
        );
    }
    let mut config = RunConfig::read(dir)?;
    let (store, logged) = RunStore::resume(dir, config.study.as_deref(), &a.storage_options())?;
    let mut changed = false;
    if let Some(b) = a.budget
        && b != config.budget.evaluations
    {
        if b < logged.len().max(1) {
            bail!(
                "--budget {b} is below the {} evaluations already logged in {}",
                logged.len(),
                dir.display()
            );
        }
        eprintln!("budget: {} -> {b} evaluations", config.budget.evaluations);
        config.budget.evaluations = b;
        changed = true;
    }
    if let Some(t) = a.time_limit {
        check_time_limit(t)?;
        eprintln!("time limit: {:?} -> {t} s", config.budget.seconds);
        config.budget.seconds = Some(t);
        changed = true;
    }
    if changed {
        config.write(dir)?;
    }
    Ok((config, store, logged))
}

fn check_flags(a: &Args) -> Result<()> {
    if let Some(ms) = a.latency_ms
        && !(ms.is_finite() && ms > 0.0)
    {
        bail!("--latency-ms must be a positive number of milliseconds, got {ms}");
    }
    if let Some(p) = a.penalty
        && !(p.is_finite() && p >= 0.0)
    {
        bail!("--penalty must be zero or more, got {p}");
    }
    if a.budget == Some(0) || a.batch == Some(0) {
        bail!("--budget and --batch must be above 0");
    }
    if a.parallel == Some(0) && a.storage.is_none() {
        bail!("--parallel 0 evaluates nothing here: it is for a driver whose workers share --storage postgres://...");
    }
    if a.parallel == Some(0) && a.batch.is_none() {
        bail!("--parallel 0 needs --batch N: how many candidates the workers get at once");
    }
    check_time_limit(a.time_limit.unwrap_or(DEFAULT_TIME_LIMIT_S))
}

/// A new run: checks the flags, the space, the profile, the output folder and the storage, then
/// scores the teacher and writes run.ron (and registers the study with the storage).
pub fn fresh(a: &Args) -> Result<(PathBuf, RunConfig, Box<dyn StudentScorer + Send>, RunStore)> {
    check_flags(a)?;
    if let Some(url) = &a.storage {
        // A wrong URL or password fails now, not after the teacher is scored.
        canao_store::connect(url)?;
    }
    let space = load_space(a.target.space())?;
    let profile = load_profile(a.target.device())?;
    check_host(&profile, a.target.other_host)?;
    profile.level(a.target.level())?;
    let strategy = a.strategy.unwrap_or(canao_search::strategy::StrategyKind::Rl);
    let seed = a.seed.unwrap_or(0);
    let dir = a.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!(
            "search-{}-{}-{}-seed{seed}-{}",
            space.name,
            profile.name.replace(' ', "_"),
            strategy.name(),
            timestamp()
        ))
    });
    if dir.join("log.jsonl").exists() {
        bail!(
            "{} already holds a search log; continue it with --resume {0}",
            dir.display()
        );
    }
    // A run kept in a database has no log here until it ends: its run.ron names its study, and
    // a new run must not overwrite the settings that study is replayed with.
    if let Some(study) = RunConfig::read(&dir).ok().and_then(|config| config.study) {
        bail!(
            "{} holds a run kept in PostgreSQL study `{study}`; continue it with --resume {0} --storage URL",
            dir.display()
        );
    }
    // Fail on an unwritable folder now, not after the teacher is scored.
    std::fs::create_dir_all(&dir).with_context(|| format!("creating the output folder {}", dir.display()))?;
    std::fs::write(RunConfig::scratch_path(&dir), "")
        .with_context(|| format!("the output folder {} is not writable", dir.display()))?;
    let defaults = Task::default();
    let task = Task {
        train: a.train.unwrap_or(defaults.train),
        test: a.test.unwrap_or(defaults.test),
        ..defaults
    };
    let objective = student_objective(&space, a.target.device(), a.target.level(), &task, a.measure)?;
    let spin = spinner("scoring the teacher, the reference every candidate is compared with");
    let teacher = objective.evaluate_teacher()?;
    spin.finish_and_clear();
    let config = RunConfig {
        version: RUN_VERSION,
        space_file: a.target.space().to_string(),
        space,
        device: a.target.device().to_string(),
        level: a.target.level(),
        reward: Reward {
            latency_limit_ms: a.latency_ms.unwrap_or(DEFAULT_LIMIT_SHARE * teacher.latency_ms),
            penalty: a.penalty.unwrap_or(DEFAULT_PENALTY),
        },
        strategy,
        seed,
        budget: Budget {
            evaluations: a.budget.unwrap_or(DEFAULT_BUDGET),
            seconds: Some(a.time_limit.unwrap_or(DEFAULT_TIME_LIMIT_S)),
        },
        batch: a.batch.or(a.parallel).unwrap_or_else(rayon_threads),
        study: a.storage.as_ref().map(|_| study_name(&dir)),
        task,
        measure: a.measure,
        teacher,
    };
    config.write(&dir)?;
    let store = RunStore::create(&dir, &config, &a.storage_options())?;
    Ok((dir, config, objective, store))
}

/// A run's study is named after its folder.
fn study_name(dir: &Path) -> String {
    dir.file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned())
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
) -> Result<Box<dyn StudentScorer + Send>> {
    let predictor = PlanPredictor::new(CpuRuntime, load_profile(device)?, level)?;
    if space.teacher != Teacher::Minilm {
        eprintln!(
            "space `{}` has no teacher weights: latency-only search, score = share of the teacher's weights kept",
            space.name
        );
        return Ok(Box::new(LatencyObjective::new(space.clone(), predictor)));
    }
    let home = assets::canao_home();
    let mut say = |line: &str| eprintln!("{line}");
    let reviews = reviews_from_cache(&home, &mut say)?;
    let teacher = MiniLm::from_cache(&home, &mut say)?;
    let spin = spinner("embedding the probe snippets with the teacher");
    let objective = StudentObjective::new(space.clone(), teacher, &reviews, task.clone(), predictor, measure)?;
    spin.finish_and_clear();
    Ok(Box::new(objective))
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
