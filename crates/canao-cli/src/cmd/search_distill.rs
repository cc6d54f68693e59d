//! `canao search --distill-top K`: after the search, the K best students under the latency limit
//! are distilled from the fine-tuned teacher, so the main job's winner comes out trained. The
//! teacher's fine-tune is made once (with progress) and cached under
//! `$CANAO_HOME/teachers/`; each student's distillation is a `canao distill` run in the search's
//! folder (`distill-<k>/`), resumed like any training run when the search is resumed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use canao_models::{StudentArch, assets};
use canao_search::Record;
use canao_train::data::Task;
use serde::Serialize;
use serde_json::Value;

use crate::cmd::model::ModelKind;
use crate::cmd::train::{RunSettings, train_run};

#[derive(Debug, Clone, clap::Args)]
pub struct DistillOptions {
    /// After the search, distil the K best students under the latency limit from the
    /// fine-tuned teacher (0: none).
    #[arg(long, default_value_t = 1)]
    pub distill_top: usize,
    /// Epochs of each student's distillation.
    #[arg(long, default_value_t = 2)]
    pub distill_epochs: usize,
    /// Train on the first N snippets of the training split only (default: all of it), for the
    /// teacher's fine-tune and the distillations.
    #[arg(long)]
    pub distill_train_limit: Option<usize>,
    /// Epochs of the teacher's fine-tune (made once, cached under $CANAO_HOME/teachers/).
    #[arg(long, default_value_t = 3)]
    pub teacher_epochs: usize,
}

#[derive(Debug, Serialize)]
pub struct Trained {
    pub dir: String,
    pub test_accuracy: f64,
    pub train_wall_s: f64,
}

#[derive(Debug, Serialize)]
pub struct DistilledStudent {
    pub arch: Value,
    pub latency_ms: f64,
    /// The search's score of the student with inherited, untrained weights.
    pub search_score: f64,
    pub trained: Trained,
}

#[derive(Debug, Serialize)]
pub struct DistillReport {
    pub teacher: Trained,
    pub students: Vec<DistilledStudent>,
}

/// A training run's test accuracy and training time, from its `report.json`.
fn trained(dir: &Path) -> Result<Trained> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(Trained {
        dir: dir.display().to_string(),
        test_accuracy: v["test_accuracy"].as_f64().unwrap_or(f64::NAN),
        train_wall_s: v["train_wall_s"].as_f64().unwrap_or(f64::NAN),
    })
}

/// Runs `settings` in `dir` unless it finished before: resumes a started run, starts a new one.
fn ensure_trained(dir: &Path, settings: &RunSettings, what: &str) -> Result<Trained> {
    if !dir.join("report.json").exists() {
        let resume = dir.join("run.json").exists();
        eprintln!(
            "{} {what} in {}",
            if resume { "resuming" } else { "training" },
            dir.display()
        );
        train_run(dir, settings, resume)?;
    }
    trained(dir)
}

/// The cached fine-tuned teacher, made first when missing.
pub fn teacher(opts: &DistillOptions) -> Result<PathBuf> {
    let mut name = format!("minilm-rotten-tomatoes-epochs{}-seed0", opts.teacher_epochs);
    if let Some(n) = opts.distill_train_limit {
        name.push_str(&format!("-train{n}"));
    }
    let dir = assets::canao_home().join("teachers").join(name);
    let mut s = RunSettings::defaults(ModelKind::Minilm, None, Task::RottenTomatoes, None, 0);
    s.train.epochs = opts.teacher_epochs;
    s.train_limit = opts.distill_train_limit;
    ensure_trained(&dir, &s, "the teacher's fine-tune")?;
    Ok(dir)
}

/// Distils the `opts.distill_top` best students meeting the limit (by search score, ties to the
/// faster) and returns what each reached.
pub fn distill_top(run: &Path, records: &[Record], opts: &DistillOptions, seed: u64) -> Result<Option<DistillReport>> {
    if opts.distill_top == 0 {
        return Ok(None);
    }
    let mut best: Vec<&Record> = records.iter().filter(|r| r.meets_limit).collect();
    best.sort_by(|a, b| {
        (b.evaluation.score.total_cmp(&a.evaluation.score))
            .then(a.evaluation.latency_ms.total_cmp(&b.evaluation.latency_ms))
    });
    best.truncate(opts.distill_top);
    if best.is_empty() {
        eprintln!("no student meets the latency limit: nothing to distil");
        return Ok(None);
    }
    let teacher_dir = teacher(opts)?;
    let mut students = Vec::new();
    for (k, r) in best.iter().enumerate() {
        let dir = run.join(format!("distill-{k}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let student: StudentArch =
            serde_json::from_value(r.arch.clone()).with_context(|| format!("candidate {} is not a student", r.key))?;
        let file = dir.join("student.ron");
        std::fs::write(&file, ron::to_string(&student)?).with_context(|| format!("writing {}", file.display()))?;
        let mut s = RunSettings::defaults(
            ModelKind::Minilm,
            Some(file),
            Task::RottenTomatoes,
            Some(teacher_dir.clone()),
            seed,
        );
        s.train.epochs = opts.distill_epochs;
        s.train_limit = opts.distill_train_limit;
        students.push(DistilledStudent {
            arch: r.arch.clone(),
            latency_ms: r.evaluation.latency_ms,
            search_score: r.evaluation.score,
            trained: ensure_trained(&dir, &s, &format!("student {k}'s distillation"))?,
        });
    }
    Ok(Some(DistillReport {
        teacher: trained(&teacher_dir)?,
        students,
    }))
}
