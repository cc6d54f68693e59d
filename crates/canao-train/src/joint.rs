//! RT3's joint training (ALGORITHMS.md §4): one shared set of weights trained under several
//! masks at once, one per DVFS level. Each step's loss is the weighted sum of the task loss with
//! every level's masks applied, sum_l w_l L(W * M_l), so the gradient that reaches the shared W is
//! sum_l w_l M_l * dL/d(W * M_l): each level pulls only on the weights it keeps.
//!
//! It is a [`Learner`] around another, so the ordinary training loop (clipping, warm-up,
//! checkpoints, resume) runs it; validation accuracy, which the loop keeps the best epoch by, is
//! the levels' accuracies weighted the same way.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Tensor, TensorData};
use canao_ir::{ParamValue, Sparsity, Weights};
use rand_chacha::ChaCha8Rng;

use crate::data::SplitPart;
use crate::error::{Result, TrainError};
use crate::layers::Dropout;
use crate::learner::Learner;
use crate::params::canao_name;

/// One level's masks: per parameter, 1 where the level keeps a weight and 0 where it drops it.
#[derive(Debug, Clone)]
pub struct LevelMasks {
    /// The level's share of the loss (and of the weighted accuracy).
    pub weight: f64,
    masks: BTreeMap<String, canao_tensor::Tensor>,
}

impl LevelMasks {
    /// The masks of `sparsity` (per parameter name) for the dense parameters of `weights`. Only
    /// structures that are masks (block, pattern) are accepted: a circulant weight is tied, not
    /// masked.
    pub fn new(weight: f64, sparsity: &BTreeMap<String, Sparsity>, weights: &Weights) -> Result<Self> {
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(TrainError::Config {
                field: "level weight".into(),
                detail: format!("is {weight}, must be finite and not negative"),
            });
        }
        let mut masks = BTreeMap::new();
        for (name, s) in sparsity {
            let Some(ParamValue::Dense(t)) = weights.get(name) else {
                return Err(TrainError::Param {
                    param: name.clone(),
                    detail: "has a mask but is not a dense parameter of the model".into(),
                });
            };
            let shape = t.shape();
            if !matches!(s, Sparsity::Dense | Sparsity::Block { .. } | Sparsity::Pattern { .. }) {
                return Err(TrainError::Param {
                    param: name.clone(),
                    detail: format!(
                        "is {}, not a mask; joint training takes block or pattern masks",
                        s.kind()
                    ),
                });
            }
            let matrix = [shape[0], shape[1..].iter().product()];
            s.validate(name, &matrix)?;
            let mut ones = vec![1.0f32; matrix[0] * matrix[1]];
            s.project(&matrix, &mut ones);
            let t = canao_tensor::Tensor::new(shape.to_vec(), ones).expect("the mask has its parameter's size");
            masks.insert(name.clone(), t);
        }
        Ok(Self { weight, masks })
    }

    /// The mask of parameter `name` (1 kept, 0 dropped), if the level masks it.
    pub fn mask(&self, name: &str) -> Option<&canao_tensor::Tensor> {
        self.masks.get(name)
    }

    /// `module` with every masked parameter multiplied by its mask. On an autodiff module the
    /// product stays in the graph, so gradients reach the unmasked parameter through it.
    pub fn apply<M: Module>(&self, module: M) -> M {
        module.map(&mut Masker {
            path: Vec::new(),
            masks: &self.masks,
        })
    }

    /// `weights` with every masked parameter multiplied by its mask (what the level runs).
    pub fn apply_weights(&self, weights: &Weights) -> Result<Weights> {
        let mut out = weights.clone();
        for (name, mask) in &self.masks {
            let mut t = weights.dense(name)?.clone();
            for (v, m) in t.data_mut().iter_mut().zip(mask.data()) {
                *v *= m;
            }
            out.insert_dense(name.clone(), t);
        }
        Ok(out)
    }
}

struct Masker<'a> {
    path: Vec<String>,
    masks: &'a BTreeMap<String, canao_tensor::Tensor>,
}

impl ModuleMapper for Masker<'_> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(mask) = self.masks.get(&canao_name(&self.path)) else {
            return param;
        };
        param.map(|t| {
            let data = TensorData::new(mask.data().to_vec(), t.dims().to_vec());
            let m = Tensor::<D>::from_data(data, &t.device());
            t.mul(m)
        })
    }
}

/// A task trained jointly under every level's masks.
#[derive(Debug)]
pub struct JointLearner<'a, L> {
    pub inner: &'a L,
    pub levels: Vec<LevelMasks>,
}

impl<'a, L: Learner> JointLearner<'a, L> {
    /// Refuses no levels, or level weights that do not sum to a positive number.
    pub fn new(inner: &'a L, levels: Vec<LevelMasks>) -> Result<Self> {
        let total: f64 = levels.iter().map(|l| l.weight).sum();
        if levels.is_empty() || total <= 0.0 {
            return Err(TrainError::Config {
                field: "levels".into(),
                detail: format!(
                    "joint training needs at least one level with a positive weight (got {} levels, weights summing to {total})",
                    levels.len()
                ),
            });
        }
        Ok(Self { inner, levels })
    }

    /// Accuracy of each level's masked model on `part` (`model` in evaluation mode).
    pub fn accuracy_per_level(&self, model: &L::Model, part: SplitPart) -> Vec<f64> {
        self.levels
            .iter()
            .map(|l| self.inner.accuracy(&l.apply(model.clone()), part))
            .collect()
    }

    /// The levels' accuracies weighted by their loss weights (normalised to sum to one).
    pub fn weighted(&self, accuracy: &[f64]) -> f64 {
        let total: f64 = self.levels.iter().map(|l| l.weight).sum();
        self.levels.iter().zip(accuracy).map(|(l, a)| l.weight * a).sum::<f64>() / total
    }
}

impl<L: Learner> Learner for JointLearner<'_, L> {
    type Model = L::Model;

    fn epoch_batches(&self, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        self.inner.epoch_batches(batch, rng)
    }

    fn loss(&self, model: &Self::Model, items: &[usize], noise: &mut Dropout) -> Tensor<1> {
        let mut levels = self.levels.iter();
        let first = levels.next().expect("JointLearner::new refuses no levels");
        let weighted = |l: &LevelMasks, noise: &mut Dropout| {
            self.inner
                .loss(&l.apply(model.clone()), items, noise)
                .mul_scalar(l.weight)
        };
        let start = weighted(first, noise);
        levels.fold(start, |sum, l| sum + weighted(l, noise))
    }

    fn accuracy(&self, model: &Self::Model, part: SplitPart) -> f64 {
        self.weighted(&self.accuracy_per_level(model, part))
    }

    fn load(&self, weights: &Weights) -> Result<Self::Model> {
        self.inner.load(weights)
    }
}
