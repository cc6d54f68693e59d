//! `canao train`: fine-tunes MiniLM (or a student of it) with a classification head on Rotten
//! Tomatoes, or trains LeNet-5 on Fashion-MNIST (or the digits), into `results/<run-id>/`;
//! `--resume DIR` continues a killed run from its last checkpoint.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use canao_ir::builders::{BertArch, LeNetArch};
use canao_models::{CORPUS_FILE, MiniLm, TextTokenizer, assets};
use canao_train::data::{SplitPart, Task, load_digits, load_fashion_mnist, rotten_tomatoes};
use canao_train::{
    BertClassifier, Constraints, DistillLoss, Distillation, ImageClassification, Learner, ModelSpec,
    TextClassification, TrainConfig, add_head, init_lenet,
};
use serde::{Deserialize, Serialize};

use crate::cmd::backend::{parse_block, read_student};
use crate::cmd::model::ModelKind;
use crate::cmd::report;
use crate::cmd::train_report::{self, RunInfo};

/// Settings shared by `canao train` and `canao distill`.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Epochs (default: 3 for minilm, 15 for lenet5); early stopping may end the run sooner.
    #[arg(long)]
    epochs: Option<usize>,
    /// Items per batch (default: 32 for minilm, 64 for lenet5).
    #[arg(long)]
    batch: Option<usize>,
    /// Peak learning rate (default: 5e-5 for minilm, 2e-3 for lenet5).
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// Seed of the head's initialisation, the data order and the dropout masks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Token cut for text tasks.
    #[arg(long, default_value_t = 64)]
    max_tokens: usize,
    /// Train on only the first N items of the split's training part (quick runs).
    #[arg(long)]
    train_limit: Option<usize>,
    /// Fine-tune under block masks keeping this share of each encoder linear weight's blocks,
    /// chosen by magnitude (the trained weight is exactly in the structure).
    #[arg(long, allow_negative_numbers = true)]
    density: Option<f64>,
    /// Block shape of the masks, RxC (default 32x32; only with --density).
    #[arg(long, value_parser = parse_block, requires = "density")]
    block: Option<[usize; 2]>,
    /// Also checkpoint every N steps (besides each epoch's end).
    #[arg(long)]
    checkpoint_every: Option<u64>,
    /// Output folder (default: results/<train|distill>-<model>-<task>-seed<S>-<time>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this folder from its last checkpoint; its run.json fixes every setting.
    #[arg(long)]
    resume: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model to train (minilm: fine-tune the pretrained encoder with a new head).
    #[arg(long, value_enum, default_value = "minilm")]
    model: ModelKind,
    /// A student of MiniLM to train instead (StudentArch RON; weights inherited).
    #[arg(long)]
    arch: Option<PathBuf>,
    /// The task (default: rotten-tomatoes for minilm, fashion-mnist for lenet5).
    #[arg(long)]
    task: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
pub struct DistillArgs {
    /// A `canao train` run folder of the fine-tuned MiniLM teacher.
    #[arg(long)]
    teacher: PathBuf,
    /// The student (StudentArch RON); its weights are inherited from the fine-tuned teacher.
    #[arg(long)]
    arch: PathBuf,
    #[command(flatten)]
    common: Common,
}

/// A run's resolved settings (`run.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    pub model: ModelKind,
    pub arch: Option<PathBuf>,
    pub task: Task,
    pub max_tokens: usize,
    pub train_limit: Option<usize>,
    pub density: Option<f64>,
    pub block: [usize; 2],
    pub train: TrainConfig,
    /// Distillation: the teacher's run folder and the loss.
    pub teacher: Option<PathBuf>,
    pub distill: Option<DistillLoss>,
}

impl Args {
    fn settings(&self) -> Result<RunSettings> {
        let c = &self.common;
        let task: Task = match &self.task {
            Some(t) => t.parse()?,
            None => match self.model {
                ModelKind::Minilm => Task::RottenTomatoes,
                ModelKind::Lenet5 => Task::FashionMnist,
            },
        };
        let text = task == Task::RottenTomatoes;
        if text != (self.model == ModelKind::Minilm) {
            bail!(canao_train::TrainError::TaskModel {
                task: task.name().into(),
                model: format!("{:?}", self.model).to_lowercase(),
                fits: if text { "minilm" } else { "lenet5" }.into(),
            });
        }
        if let Some(path) = &self.arch {
            if self.model != ModelKind::Minilm {
                bail!("--arch names a student of MiniLM; it needs --model minilm");
            }
            // Checked before the run folder is made, so a bad student leaves nothing behind.
            read_student(path)?.validate(&BertArch::minilm(1))?;
        }
        c.resolve(self.model, self.arch.clone(), task, None)
    }
}

impl DistillArgs {
    fn settings(&self) -> Result<RunSettings> {
        let teacher = self.teacher.join("model.ron");
        if !teacher.exists() {
            bail!(
                "{} is not a `canao train` run folder (no model.ron)",
                self.teacher.display()
            );
        }
        let ModelSpec::BertClassifier { arch, .. } = ModelSpec::load(&teacher)? else {
            bail!("{} holds a LeNet, not a BERT classifier", self.teacher.display());
        };
        read_student(&self.arch)?.validate(&arch)?;
        self.common.resolve(
            ModelKind::Minilm,
            Some(self.arch.clone()),
            Task::RottenTomatoes,
            Some(self.teacher.clone()),
        )
    }
}

impl Common {
    fn resolve(
        &self,
        model: ModelKind,
        arch: Option<PathBuf>,
        task: Task,
        teacher: Option<PathBuf>,
    ) -> Result<RunSettings> {
        if let Some(d) = self.density
            && !(d > 0.0 && d < 1.0)
        {
            bail!("--density must be in (0, 1), got {d}");
        }
        let defaults = RunSettings::defaults(model, arch, task, teacher, self.seed);
        let train = TrainConfig {
            epochs: self.epochs.unwrap_or(defaults.train.epochs),
            batch: self.batch.unwrap_or(defaults.train.batch),
            lr: self.lr.unwrap_or(defaults.train.lr),
            checkpoint_every: self.checkpoint_every,
            ..defaults.train
        };
        train.validate()?;
        Ok(RunSettings {
            max_tokens: self.max_tokens,
            train_limit: self.train_limit,
            density: self.density,
            block: self.block.unwrap_or(defaults.block),
            train,
            ..defaults
        })
    }
}

impl RunSettings {
    /// The default settings of a model on a task (a distillation when `teacher` is given).
    pub fn defaults(model: ModelKind, arch: Option<PathBuf>, task: Task, teacher: Option<PathBuf>, seed: u64) -> Self {
        let minilm = model == ModelKind::Minilm;
        Self {
            model,
            arch,
            task,
            max_tokens: 64,
            train_limit: None,
            density: None,
            block: [32, 32],
            train: TrainConfig {
                epochs: if minilm { 3 } else { 15 },
                batch: if minilm { 32 } else { 64 },
                lr: if minilm { 5e-5 } else { 2e-3 },
                warmup: if minilm { 0.1 } else { 0.02 },
                weight_decay: if minilm { 0.01 } else { 1e-4 },
                clip_norm: 1.0,
                dropout: if minilm { 0.1 } else { 0.0 },
                patience: if minilm { 2 } else { 4 },
                checkpoint_every: None,
                seed,
            },
            distill: teacher.is_some().then(DistillLoss::default),
            teacher,
        }
    }
}

pub fn run(a: Args) -> Result<()> {
    let settings = match &a.common.resume {
        Some(_) => None,
        None => Some(a.settings()?),
    };
    execute(&a.common, settings, "train")
}

pub fn distill(a: DistillArgs) -> Result<()> {
    let settings = match &a.common.resume {
        Some(_) => None,
        None => Some(a.settings()?),
    };
    execute(&a.common, settings, "distill")
}

/// Resolves the run folder (a new one, or the resumed one's settings) and trains.
fn execute(c: &Common, fresh: Option<RunSettings>, verb: &str) -> Result<()> {
    let (dir, settings) = match (&c.resume, fresh) {
        (Some(dir), _) => {
            let path = dir.join("run.json");
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let s: RunSettings = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            (dir.clone(), s)
        }
        (None, Some(s)) => {
            let dir = c.out.clone().unwrap_or_else(|| {
                PathBuf::from("results").join(format!(
                    "{verb}-{}-{}-seed{}-{}",
                    format!("{:?}", s.model).to_lowercase(),
                    s.task.name(),
                    s.train.seed,
                    crate::cmd::search_setup::timestamp()
                ))
            });
            (dir, s)
        }
        (None, None) => unreachable!("a fresh run resolves its settings"),
    };
    train_run(&dir, &settings, c.resume.is_some())
}

/// Trains (or, with `resume`, continues) the run of `settings` in `dir`; a fresh run writes
/// `run.json` first, so a killed run resumes with its own settings.
pub fn train_run(dir: &Path, settings: &RunSettings, resume: bool) -> Result<()> {
    if !resume {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("run.json"), serde_json::to_string_pretty(settings)?)?;
    }
    let device = Device::flex().autodiff();
    match settings.task {
        Task::RottenTomatoes => text_run(settings, dir, resume, device),
        Task::FashionMnist | Task::Digits => image_run(settings, dir, resume, device),
    }
}

/// Trains LeNet-5 from a seeded initialisation on Fashion-MNIST or the digits.
fn image_run(settings: &RunSettings, dir: &Path, resume: bool, device: Device) -> Result<()> {
    let (learner, source) = image_learner(settings.task, settings.train_limit, device)?;
    let weights = init_lenet(&learner.arch, settings.train.seed)?;
    let spec = ModelSpec::LeNet {
        arch: learner.arch.clone(),
        labels: settings.task.labels(),
    };
    let names = ["fc1.w", "fc2.w", "fc3.w"].map(String::from);
    let constraints = masks(settings, &names, &weights)?;
    let info = RunInfo {
        dir,
        settings,
        spec: &spec,
        split: &learner.data.split,
        split_source: &source,
        max_tokens: None,
    };
    fit(&learner, &weights, &constraints, &info, resume)
}

/// LeNet-5 on an image task (its training part cut to `train_limit` items), and the asset the
/// split refers to.
pub fn image_learner(task: Task, train_limit: Option<usize>, device: Device) -> Result<(ImageClassification, PathBuf)> {
    let home = assets::canao_home();
    let say = &mut |line: &str| eprintln!("{line}");
    let (mut data, source) = match task {
        Task::Digits => {
            let dir = assets::ensure(&home, assets::Asset::Digits, say)?;
            (load_digits(&dir.join("digits.csv.gz"))?, dir.join("digits.csv.gz"))
        }
        Task::FashionMnist => {
            let dir = assets::ensure(&home, assets::Asset::FashionMnist, say)?;
            (load_fashion_mnist(&dir)?, dir)
        }
        Task::RottenTomatoes => bail!("LeNet-5 takes an image task, not {}", task.name()),
    };
    data.split = data.split.limited(SplitPart::Train, train_limit)?;
    let arch = LeNetArch::default();
    Ok((ImageClassification { data, arch, device }, source))
}

/// Fine-tunes MiniLM or a student of it, or distils a student from a fine-tuned teacher.
fn text_run(settings: &RunSettings, dir: &Path, resume: bool, device: Device) -> Result<()> {
    let home = assets::canao_home();
    let say = &mut |line: &str| eprintln!("{line}");
    let minilm = MiniLm::from_cache(&home, say)?;
    // The model students inherit from: the fine-tuned teacher when distilling, else MiniLM.
    let (teacher, base_arch, mut base) = match &settings.teacher {
        Some(run) => {
            let (arch, weights) = trained_bert(run)?;
            let teacher = BertClassifier::load(&arch, 2, &weights, &device)?.valid();
            (Some(teacher), arch, weights)
        }
        None => (None, minilm.arch(1), minilm.weights().clone()),
    };
    if base.get("head.w").is_none() {
        add_head(&mut base, &base_arch, 2, settings.train.seed);
    }
    let student = settings.arch.as_deref().map(read_student).transpose()?;
    let (arch, weights) = match &student {
        Some(s) => {
            let mut w = canao_models::inherit(&base, &base_arch, s)?;
            for p in ["head.w", "head.b"] {
                w.insert_dense(p, base.dense(p)?.clone());
            }
            (s.bert(&base_arch, 1)?, w)
        }
        None => (base_arch, base),
    };
    let spec = ModelSpec::BertClassifier {
        arch: arch.clone(),
        labels: settings.task.labels(),
    };
    let constraints = masks(settings, &canao_models::prunable(&weights), &weights)?;
    let task = text_learner(minilm.tokenizer(), arch, settings, device)?;
    let source = task.data.file.clone();
    let max_tokens = task.data.max_tokens;
    let info = |split| RunInfo {
        dir,
        settings,
        spec: &spec,
        split,
        split_source: &source,
        max_tokens: Some(max_tokens),
    };
    match (teacher, &student) {
        (Some(teacher), Some(s)) => {
            let learner = Distillation {
                layer_map: s.layers.iter().map(|l| l.teacher).collect(),
                loss: settings.distill.unwrap_or_default(),
                teacher,
                student: task,
            };
            fit(
                &learner,
                &weights,
                &constraints,
                &info(&learner.student.data.split),
                resume,
            )
        }
        _ => fit(&task, &weights, &constraints, &info(&task.data.split), resume),
    }
}

/// A classifier of `arch` on Rotten Tomatoes (its training part cut to `train_limit`), tokens
/// cut at `max_tokens`: both from `settings`, so a pruning run sees its dense run's split.
pub fn text_learner(
    tokenizer: &TextTokenizer,
    arch: BertArch,
    settings: &RunSettings,
    device: Device,
) -> Result<TextClassification> {
    let say = &mut |line: &str| eprintln!("{line}");
    let corpus = assets::ensure(&assets::canao_home(), assets::Asset::RottenTomatoes, say)?.join(CORPUS_FILE);
    let mut data = rotten_tomatoes(&corpus, tokenizer, settings.max_tokens)?;
    data.split = data.split.limited(SplitPart::Train, settings.train_limit)?;
    Ok(TextClassification {
        data,
        arch,
        classes: 2,
        device,
    })
}

/// The architecture and weights of a `canao train` run of a BERT classifier.
pub fn trained_bert(run: &Path) -> Result<(BertArch, canao_ir::Weights)> {
    match ModelSpec::load(&run.join("model.ron"))? {
        ModelSpec::BertClassifier { arch, .. } => {
            let weights = canao_train::checkpoint::read_weights(&run.join("weights.safetensors"))?;
            Ok((arch, weights))
        }
        ModelSpec::LeNet { .. } => bail!("{} holds a LeNet, not a BERT classifier", run.display()),
    }
}

/// Block-magnitude masks on `names` when `--density` asks for them.
fn masks(s: &RunSettings, names: &[String], weights: &canao_ir::Weights) -> Result<Constraints> {
    let mut c = Constraints::new();
    let Some(density) = s.density else { return Ok(c) };
    for name in names {
        let t = weights.dense(name)?;
        let sparsity = canao_compress::block_magnitude(name, t, s.block, 1.0 - density)?;
        c.insert(name, t.shape(), sparsity)?;
    }
    Ok(c)
}

/// Trains, then writes the weights, the model description and the report.
fn fit<L: Learner>(
    learner: &L,
    weights: &canao_ir::Weights,
    constraints: &Constraints,
    info: &RunInfo,
    resume: bool,
) -> Result<()> {
    let model = learner.load(weights)?;
    train_report::write_inputs(info, constraints)?;
    let mut bar = train_report::bar(info.dir);
    let started = std::time::Instant::now();
    let outcome = canao_train::train(
        learner,
        model,
        &info.settings.train,
        constraints,
        info.dir,
        resume,
        &mut |p| {
            bar.update(p);
            if p.validation_accuracy.is_some() {
                report::refresh(info.dir);
            }
        },
    )?;
    bar.finish();
    train_report::write_outputs(info, &outcome, started.elapsed().as_secs_f64())?;
    report::refresh(info.dir);
    Ok(())
}
