//! What `canao reconfig search` and `canao reconfig run` share: a search's resolved settings
//! (`config.json`), and the setup they rebuild from them: the fine-tuned backbone, its encoder at
//! the searched length, the pattern space and the joint training that scores a choice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use canao_compress::CandidateConfig;
use canao_cpu::CpuRuntime;
use canao_ir::{Graph, Sparsity, Weights};
use canao_latency::{DeviceProfile, Rt3Reward, latency_per_level, runs_per_battery};
use canao_models::TextTokenizer;
use canao_search::SearchError;
use canao_search::pattern_sets::{JointScorer, LevelAccuracy, LevelSparsity, PatternSpace};
use canao_search::strategy::StrategyKind;
use canao_train::data::{SplitPart, rotten_tomatoes};
use canao_train::joint::{JointLearner, LevelMasks};
use canao_train::{Constraints, Learner, TextClassification, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::cmd::train::RunSettings;
use crate::cmd::trained::TrainedBert;

/// RT3's joint-training loss weights, one per DVFS level (RT3 has three).
pub const RT3_LEVEL_WEIGHTS: [f64; 3] = [0.5, 0.3, 0.2];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RewardKind {
    /// RT3's constants as published (accuracy over 0.85..0.9745, runs over 2.3e6..4.5e6).
    Original,
    /// RT3's ranges re-anchored on this model: accuracy over (dense - 0.1245)..dense, runs over
    /// dense..1.96 x dense (RT3's widths and ratio), dense measured in the same run.
    Anchored,
}

/// Which weights share one pick per level and slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Grouping {
    /// Each encoder layer picks its own patterns (RT3): 6 x levels x patterns decisions.
    Layer,
    /// The whole encoder shares its picks (each weight still draws its own candidates):
    /// levels x patterns decisions, a space REINFORCE covers in far fewer episodes.
    Model,
}

/// A search's resolved settings, as `config.json` holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub from: PathBuf,
    /// The device profile as given (a built-in name or a path), so a run loads the same one.
    pub device: String,
    pub limits: Vec<f64>,
    pub strategy: StrategyKind,
    pub budget: usize,
    pub minutes: Option<f64>,
    pub block: usize,
    pub maps: usize,
    pub patterns: usize,
    pub groups: Grouping,
    pub sparsity: Vec<f64>,
    pub train_items: usize,
    pub lr: f64,
    pub eval_items: usize,
    pub seq: usize,
    pub reward: RewardKind,
    pub seed: u64,
    /// The backbone's token limit (from its run).
    pub max_tokens: usize,
    pub level_weights: [f64; 3],
}

impl Settings {
    pub fn load(dir: &Path) -> Result<Self> {
        let file = dir.join("config.json");
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "reading {} (is {} a `canao reconfig search` folder?)",
                file.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))
    }
}

/// The fine-tuned classifier of a `canao train` run and the settings it was trained with.
pub fn backbone(from: &Path) -> Result<(TrainedBert, RunSettings)> {
    let trained = TrainedBert::load(from).with_context(|| format!("loading the backbone {}", from.display()))?;
    if trained.constraints.iter().next().is_some() {
        bail!(
            "{} was trained under constraints; pattern sets are searched on a backbone trained without them",
            from.display()
        );
    }
    let file = from.join("run.json");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let settings = serde_json::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    Ok((trained, settings))
}

/// Everything a search evaluates choices with.
#[derive(Debug)]
pub struct Setup {
    pub trained: TrainedBert,
    /// The encoder (no head) at the searched length, and its weights.
    pub graph: Graph,
    pub weights: Weights,
    pub space: PatternSpace,
    pub scorer: JointTraining,
}

impl Setup {
    /// `scratch` is where each choice's joint training checkpoints (removed once it is scored).
    pub fn new(
        s: &Settings,
        trained: TrainedBert,
        backbone: &RunSettings,
        levels: usize,
        scratch: PathBuf,
    ) -> Result<Self> {
        let encoder = trained.encoder()?;
        let graph = encoder.graph(s.seq)?;
        let weights = encoder.weights().clone();
        let space = pattern_space(s, &weights, levels)?;
        let scorer = joint_training(&trained, encoder.tokenizer(), backbone, s, scratch)?;
        Ok(Self {
            trained,
            graph,
            weights,
            space,
            scorer,
        })
    }
}

/// The candidates of every prunable encoder weight, grouped as the settings say.
fn pattern_space(s: &Settings, weights: &Weights, levels: usize) -> Result<PatternSpace> {
    let prunable = canao_models::prunable(weights);
    let groups = match s.groups {
        Grouping::Layer => layer_groups(&prunable),
        Grouping::Model => vec![prunable],
    };
    let config = CandidateConfig {
        block: s.block,
        blocks: 10,
        draws: 16.max(s.maps),
        maps: s.maps,
        seed: s.seed,
    };
    Ok(PatternSpace::new(
        weights,
        groups,
        &config,
        &s.sparsity,
        levels,
        s.patterns,
    )?)
}

/// The searched weights grouped by encoder layer (`enc.<i>.`), in layer order.
fn layer_groups(prunable: &[String]) -> Vec<Vec<String>> {
    let mut by_layer: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for name in prunable {
        let layer = name
            .split('.')
            .nth(1)
            .and_then(|i| i.parse::<usize>().ok())
            .expect("prunable weights are named enc.<layer>....");
        by_layer.entry(layer).or_default().push(name.clone());
    }
    by_layer.into_values().collect()
}

/// Joint training of the backbone under a choice's masks, scored per level.
#[derive(Debug)]
pub struct JointTraining {
    pub task: TextClassification,
    /// The backbone classifier's weights (head included): every choice starts from them.
    pub weights: Weights,
    config: TrainConfig,
    level_weights: Vec<f64>,
    scratch: PathBuf,
}

/// The scorer: the backbone's classifier on slices of its own split, RT3's joint-training
/// settings (one epoch, clip 0.5) at the settings' learning rate.
fn joint_training(
    trained: &TrainedBert,
    tokenizer: &TextTokenizer,
    backbone: &RunSettings,
    s: &Settings,
    scratch: PathBuf,
) -> Result<JointTraining> {
    let say = &mut |line: &str| eprintln!("{line}");
    let home = canao_models::assets::canao_home();
    let corpus = canao_models::assets::ensure(&home, canao_models::assets::Asset::RottenTomatoes, say)?
        .join(canao_models::CORPUS_FILE);
    let mut data = rotten_tomatoes(&corpus, tokenizer, backbone.max_tokens)?;
    data.split = data
        .split
        .limited(SplitPart::Train, Some(s.train_items))?
        .limited(SplitPart::Validation, Some(s.eval_items))?
        .limited(SplitPart::Test, Some(s.eval_items))?;
    let task = TextClassification {
        data,
        arch: trained.arch.clone(),
        classes: trained.labels.len(),
        device: Device::flex().autodiff(),
    };
    let config = TrainConfig {
        epochs: 1,
        batch: 16,
        lr: s.lr,
        warmup: 0.1,
        weight_decay: 0.01,
        clip_norm: 0.5,
        dropout: 0.1,
        patience: 1,
        checkpoint_every: None,
        seed: s.seed,
    };
    Ok(JointTraining {
        task,
        weights: trained.weights.clone(),
        config,
        level_weights: s.level_weights.to_vec(),
        scratch,
    })
}

impl JointScorer for JointTraining {
    fn accuracy_per_level(&self, levels: &LevelSparsity) -> canao_search::Result<LevelAccuracy> {
        self.train(levels)
            .map(|(_, accuracy)| accuracy)
            .map_err(|e| SearchError::Evaluation {
                candidate: "pattern sets".into(),
                detail: format!("joint training: {e:#}"),
            })
    }
}

impl JointTraining {
    /// Trains the backbone jointly under each level's masks; returns the shared weights (unmasked,
    /// head included) and each level's accuracy.
    pub fn train(&self, levels: &[BTreeMap<String, Sparsity>]) -> Result<(Weights, LevelAccuracy)> {
        let masks = levels
            .iter()
            .zip(&self.level_weights)
            .map(|(s, &w)| LevelMasks::new(w, s, &self.weights))
            .collect::<canao_train::Result<Vec<_>>>()?;
        let learner = JointLearner::new(&self.task, masks)?;
        let model = learner.load(&self.weights)?;
        // A fresh folder per choice: the loop's checkpoints are of no use once it is scored.
        let _ = std::fs::remove_dir_all(&self.scratch);
        let outcome = canao_train::train(
            &learner,
            model,
            &self.config,
            &Constraints::new(),
            &self.scratch,
            false,
            &mut |_| {},
        )?;
        let model = outcome.last.valid();
        let accuracy = LevelAccuracy {
            selection: learner.accuracy_per_level(&model, SplitPart::Validation),
            held_out: learner.accuracy_per_level(&model, SplitPart::Test),
        };
        std::fs::remove_dir_all(&self.scratch).ok();
        Ok((canao_train::params::export(&model), accuracy))
    }
}

/// Each level's limit: `limits` where given, else the profile's, else the dense backbone's
/// latency at that level (a reconfigurable model is never slower than dense).
pub fn set_limits(profile: &mut DeviceProfile, limits: &[f64], dense_ms: &[f64]) {
    for (l, level) in profile.dvfs.iter_mut().enumerate() {
        if let Some(&limit) = limits.get(l) {
            level.limit_ms = Some(limit);
        } else if level.limit_ms.is_none() {
            level.limit_ms = Some(dense_ms[l]);
        }
    }
}

/// The dense backbone, measured in the same run: what the reward is anchored on.
#[derive(Debug, Serialize)]
pub struct Dense {
    /// On the validation slice the choices are scored on, and on the test slice logged beside.
    pub accuracy: f64,
    pub test_accuracy: f64,
    pub latency_ms: Vec<f64>,
    pub runs: u64,
}

impl Dense {
    pub fn measure(setup: &Setup, profile: &DeviceProfile) -> Result<Self> {
        let task = &setup.scorer.task;
        let model = task.load(&setup.scorer.weights)?.valid();
        let latency_ms = latency_per_level(CpuRuntime, profile, &setup.graph, &setup.weights)?;
        let runs = runs_per_battery(profile, &latency_ms)?.iter().map(|l| l.runs).sum();
        Ok(Self {
            accuracy: task.accuracy(&model, SplitPart::Validation),
            test_accuracy: task.accuracy(&model, SplitPart::Test),
            latency_ms,
            runs,
        })
    }

    /// RT3's reward of `kind`, anchored on this backbone where it asks for that.
    pub fn reward(&self, kind: RewardKind) -> Rt3Reward {
        match kind {
            RewardKind::Original => Rt3Reward::original(),
            RewardKind::Anchored => Rt3Reward {
                accuracy_range: [self.accuracy - 0.1245, self.accuracy],
                runs_range: [self.runs as f64, self.runs as f64 * 4.5 / 2.3],
                ..Rt3Reward::original()
            },
        }
    }
}
