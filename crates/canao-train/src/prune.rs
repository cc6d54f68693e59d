//! Pruning a trained model to a structure at a compression rate, one method behind one entry
//! point: magnitude (project the trained weights at once), ADMM or SLR (train under the split
//! penalty first, then project). Each then retrains with the mask fixed. The run folder holds
//! `split/` (the regularised phase's checkpoints and metrics) and `retrain/`; both resume.
//!
//! The rate R is the compression of the selected weights taken together (total over non-zero,
//! as the ADMM papers count it), reached by pruning every selected weight R times (each keeps
//! round(groups / R) of its groups) unless a per-layer rate replaces R for a weight: the rate
//! of each layer is fixed, so the projection of the whole model is the projection of each layer.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use canao_compress::{Layer, Rows, SlrParams, SplitMethod, Splitting, Structure};
use canao_ir::{ParamValue, Sparsity, Weights};
use serde::{Deserialize, Serialize};

use crate::constraint::Constraints;
use crate::data::SplitPart;
use crate::error::{Result, TrainError};
use crate::group_lasso::{GroupLasso, GroupLassoParams};
use crate::learner::Learner;
use crate::params;
use crate::split_penalty::SplitPenalty;
use crate::trainer::{Outcome, Progress, Shaping, TrainConfig, train, train_with};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum PruneMethod {
    /// One-shot: the trained weights projected onto the structure.
    Magnitude,
    Admm {
        interval: usize,
    },
    Slr(SlrParams),
    /// Reweighted group Lasso (§1) or, bounded by the target, dynamic regularisation (§2).
    GroupLasso(GroupLassoParams),
}

impl PruneMethod {
    /// The splitting behind the method; `None` for magnitude.
    pub fn splitting(&self) -> Option<SplitMethod> {
        match *self {
            PruneMethod::Magnitude | PruneMethod::GroupLasso(_) => None,
            PruneMethod::Admm { interval } => Some(SplitMethod::Admm { interval }),
            PruneMethod::Slr(p) => Some(SplitMethod::Slr(p)),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            PruneMethod::Magnitude => "magnitude",
            PruneMethod::Admm { .. } => "admm",
            PruneMethod::Slr(_) => "slr",
            PruneMethod::GroupLasso(p) if p.bounded => "dynamic",
            PruneMethod::GroupLasso(_) => "reweighted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneConfig {
    pub method: PruneMethod,
    pub structure: Structure,
    pub rate: f64,
    /// The penalty's rho (ADMM and SLR).
    pub rho: f64,
    /// The regularised phase (ADMM, SLR, group Lasso; magnitude has none).
    pub split: TrainConfig,
    /// Retraining with the mask fixed.
    pub retrain: TrainConfig,
    /// The weights to prune; empty: every weight of two or more dimensions.
    pub layers: Vec<String>,
    /// Whether a hard prune may empty a whole row of tiles (BERT's never may, §1).
    #[serde(default)]
    pub rows: Rows,
    /// Rates of single weights in place of `rate` (the ADMM papers prune LeNet-5's first
    /// convolution lightly and its first dense layer hard).
    #[serde(default)]
    pub layer_rates: BTreeMap<String, f64>,
}

/// One pruned weight in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrunedLayer {
    pub param: String,
    pub shape: Vec<usize>,
    pub groups: usize,
    pub kept_groups: usize,
    /// Weights stored: the non-zeros, or one vector of b per circulant tile.
    pub stored: u64,
    pub total: u64,
}

/// Accuracy on the validation and test parts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Accuracy {
    pub validation: f64,
    pub test: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneReport {
    pub method: &'static str,
    pub structure: String,
    pub rate_target: f64,
    /// Total over stored (non-zero, or circulant vector) weights of the pruned layers, and of
    /// every weight of the model.
    pub compression_pruned_layers: f64,
    pub compression_model: f64,
    pub accuracy_start: Accuracy,
    /// Before the hard prune (after the regularised phase; the start for magnitude).
    pub accuracy_before_prune: Accuracy,
    pub accuracy_hard_prune: Accuracy,
    /// Validation accuracy after each retraining epoch.
    pub accuracy_per_epoch: Vec<f64>,
    /// Test accuracy of the retrained model (its best validation epoch).
    pub test_accuracy: f64,
    pub layers: Vec<PrunedLayer>,
}

/// What a pruning run hands back: the report, the retrained weights and their structure.
#[derive(Debug)]
pub struct Pruned {
    pub report: PruneReport,
    pub weights: Weights,
    pub constraints: Constraints,
}

/// The layers `config` prunes, each with the groups it keeps; errors name the layer (also a
/// per-layer rate for a weight that is not pruned).
pub fn layers(config: &PruneConfig, weights: &Weights) -> Result<Vec<Layer>> {
    let names: Vec<String> = if config.layers.is_empty() {
        weights
            .iter()
            .filter(|(_, v)| matches!(v, ParamValue::Dense(t) if t.shape().len() >= 2))
            .map(|(n, _)| n.clone())
            .collect()
    } else {
        config.layers.clone()
    };
    if let Some(param) = config.layer_rates.keys().find(|p| !names.contains(p)) {
        return Err(TrainError::Param {
            param: param.clone(),
            detail: "has a per-layer rate but is not among the pruned weights".into(),
        });
    }
    names
        .into_iter()
        .map(|param| {
            let t = weights.dense(&param)?;
            if t.shape().len() < 2 {
                return Err(TrainError::Param {
                    param,
                    detail: format!("has shape {:?}; only matrices and convolutions are pruned", t.shape()),
                });
            }
            let shape = [t.shape()[0], t.len() / t.shape()[0]];
            let rate = config.layer_rates.get(&param).copied().unwrap_or(config.rate);
            let keep = config.structure.keep_for_rate(&param, shape, rate)?;
            Ok(Layer {
                param,
                shape,
                structure: config.structure,
                keep,
                rows: config.rows,
            })
        })
        .collect()
}

/// Prunes `weights` (a trained model) as `config` says, in `out`; `resume` continues a killed run.
pub fn prune<L: Learner>(
    learner: &L,
    weights: &Weights,
    config: &PruneConfig,
    device: &Device,
    out: &Path,
    resume: bool,
    progress: &mut dyn FnMut(&str, &Progress),
) -> Result<Pruned> {
    let layers = layers(config, weights)?;
    let start = learner.load(weights)?;
    let accuracy_start = accuracy(learner, &start);
    let shaped = match (config.method, config.method.splitting()) {
        (PruneMethod::GroupLasso(p), _) => {
            let mut penalty = GroupLasso::new(p, layers.clone(), weights, device.clone())?;
            split_phase(learner, start, &mut penalty, &config.split, out, resume, progress)?
        }
        (_, Some(method)) => {
            let split = Splitting::new(method, config.rho, layers.clone(), weights)?;
            let mut penalty = SplitPenalty::new(split, device.clone());
            split_phase(learner, start, &mut penalty, &config.split, out, resume, progress)?
        }
        (_, None) => start,
    };
    let accuracy_before_prune = accuracy(learner, &shaped);
    let shaped_weights = params::export(&shaped);
    let mut constraints = Constraints::new();
    for layer in &layers {
        let t = shaped_weights.dense(&layer.param)?;
        let (_, mask) = layer.project(t.data())?;
        constraints.insert(&layer.param, t.shape(), mask)?;
    }
    let pruned = constraints.project(shaped);
    let accuracy_hard_prune = accuracy(learner, &pruned);
    let retrained = train(
        learner,
        pruned,
        &config.retrain,
        &constraints,
        &out.join("retrain"),
        resume,
        &mut |p| progress("retrain", p),
    )?;
    let weights = params::export(&retrained.model);
    let report = report(
        config,
        &layers,
        &constraints,
        &weights,
        &retrained,
        [accuracy_start, accuracy_before_prune, accuracy_hard_prune],
    );
    Ok(Pruned {
        report,
        weights,
        constraints,
    })
}

/// Trains under the method's penalty (ADMM / SLR / group Lasso); returns the last epoch's model
/// (what the penalty has shaped longest, as the public code retrains from its last checkpoint).
fn split_phase<L: Learner>(
    learner: &L,
    start: L::Model,
    penalty: &mut dyn crate::regulariser::Regulariser<L::Model>,
    config: &TrainConfig,
    out: &Path,
    resume: bool,
    progress: &mut dyn FnMut(&str, &Progress),
) -> Result<L::Model> {
    let constraints = Constraints::new();
    let shaping = Shaping {
        constraints: &constraints,
        regulariser: penalty,
    };
    let outcome = train_with(learner, start, config, shaping, &out.join("split"), resume, &mut |p| {
        progress("split", p)
    })?;
    Ok(outcome.last)
}

fn accuracy<L: Learner>(learner: &L, model: &L::Model) -> Accuracy {
    let m = model.valid();
    Accuracy {
        validation: learner.accuracy(&m, SplitPart::Validation),
        test: learner.accuracy(&m, SplitPart::Test),
    }
}

fn report<M>(
    config: &PruneConfig,
    layers: &[Layer],
    constraints: &Constraints,
    weights: &Weights,
    retrained: &Outcome<M>,
    [accuracy_start, accuracy_before_prune, accuracy_hard_prune]: [Accuracy; 3],
) -> PruneReport {
    let pruned: Vec<PrunedLayer> = layers
        .iter()
        .map(|layer| {
            let sparsity = constraints
                .iter()
                .find(|(n, _)| **n == layer.param)
                .map_or(Sparsity::Dense, |(_, s)| s.clone());
            PrunedLayer {
                param: layer.param.clone(),
                shape: weights
                    .dense(&layer.param)
                    .map(|t| t.shape().to_vec())
                    .unwrap_or_default(),
                groups: layer.structure.groups(layer.shape),
                kept_groups: layer.keep,
                stored: sparsity.stored(&layer.shape),
                total: (layer.shape[0] * layer.shape[1]) as u64,
            }
        })
        .collect();
    let (stored, total) = pruned.iter().fold((0, 0), |(n, t), l| (n + l.stored, t + l.total));
    let all: u64 = weights
        .iter()
        .map(|(_, v)| match v {
            ParamValue::Dense(t) => t.len() as u64,
            ParamValue::Csr(c) => c.nnz() as u64,
        })
        .sum();
    PruneReport {
        method: config.method.name(),
        structure: config.structure.to_string(),
        rate_target: config.rate,
        compression_pruned_layers: total as f64 / stored.max(1) as f64,
        compression_model: all as f64 / (all - total + stored).max(1) as f64,
        accuracy_start,
        accuracy_before_prune,
        accuracy_hard_prune,
        accuracy_per_epoch: retrained.state.history.iter().map(|r| r.validation_accuracy).collect(),
        test_accuracy: retrained.test_accuracy,
        layers: pruned,
    }
}
