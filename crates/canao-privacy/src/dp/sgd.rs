//! DP-SGD (Abadi et al., 2016) for the image learner: each step samples every training example
//! with probability q = batch / n (Poisson sampling, which the accountant assumes), computes each
//! sampled example's gradient alone, clips it to an L2 norm of `clip`, sums, adds Gaussian noise
//! of `noise_multiplier * clip` per coordinate and divides by the expected batch size; SGD with
//! momentum then takes the step.

use burn::tensor::Tensor;
use canao_ir::Weights;
use canao_train::ImageClassification;
use canao_train::layers::Dropout;
use canao_train::learner::Learner;
use canao_train::params::param_id;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::dp::accountant::epsilon;
use crate::error::{PrivacyError, Result, config};
use crate::layout::Layout;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpSgd {
    pub epochs: usize,
    /// Expected examples a step.
    pub batch: usize,
    pub lr: f64,
    pub momentum: f64,
    /// Per-example gradient norm bound.
    pub clip: f64,
    /// Noise standard deviation over `clip`.
    pub noise_multiplier: f64,
    pub delta: f64,
    pub seed: u64,
}

/// What a DP-SGD run spent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spent {
    pub epsilon: f64,
    pub delta: f64,
    pub order: u32,
    pub steps: u64,
    pub sampling_rate: f64,
}

impl DpSgd {
    pub fn validate(&self) -> Result<()> {
        let positive = |field: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(config(field, format!("is {v}, must be positive")))
            }
        };
        positive("lr", self.lr)?;
        positive("clip", self.clip)?;
        positive("noise_multiplier", self.noise_multiplier)?;
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(config("delta", format!("is {}, must be in (0, 1)", self.delta)));
        }
        if self.epochs == 0 || self.batch == 0 {
            return Err(config("epochs", "epochs and batch must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(config("momentum", format!("is {}, must be in [0, 1)", self.momentum)));
        }
        Ok(())
    }

    /// The privacy a run on `n` examples spends.
    pub fn spent(&self, n: usize) -> Spent {
        let q = (self.batch as f64 / n as f64).min(1.0);
        let steps = (self.epochs * n).div_ceil(self.batch) as u64;
        let (eps, order) = epsilon(q, self.noise_multiplier, steps, self.delta);
        Spent {
            epsilon: eps,
            delta: self.delta,
            order,
            steps,
            sampling_rate: q,
        }
    }

    /// Trains from `start` on `items` of `task`; `on_step(step, steps)` hears progress.
    pub fn train(
        &self,
        task: &ImageClassification,
        start: &Weights,
        items: &[usize],
        on_step: &mut dyn FnMut(u64, u64),
    ) -> Result<(Weights, Spent)> {
        self.validate()?;
        let spent = self.spent(items.len());
        let layout = Layout::of(start)?;
        let mut flat = layout.flatten(start)?;
        let mut velocity: Vec<Vec<f32>> = flat.iter().map(|t| vec![0.0; t.len()]).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0xD9_5C0);
        for step in 0..spent.steps {
            let model = task.load(&layout.weights(&flat)?)?;
            let sampled: Vec<usize> = items
                .iter()
                .copied()
                .filter(|_| rng.random_bool(spent.sampling_rate))
                .collect();
            let mut sum: Vec<Vec<f64>> = flat.iter().map(|t| vec![0.0; t.len()]).collect();
            for &item in &sampled {
                let grad = self.example_gradient(task, &model, &layout, item, step)?;
                let norm = grad.iter().flatten().map(|g| f64::from(*g).powi(2)).sum::<f64>().sqrt();
                let scale = (self.clip / norm.max(1e-12)).min(1.0);
                for (s, g) in sum.iter_mut().zip(&grad) {
                    s.iter_mut().zip(g).for_each(|(s, g)| *s += scale * f64::from(*g));
                }
            }
            let sd = self.noise_multiplier * self.clip;
            for ((w, v), s) in flat.iter_mut().zip(&mut velocity).zip(&sum) {
                for ((w, v), s) in w.iter_mut().zip(v.iter_mut()).zip(s) {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    let noisy = (s + sd * z) / self.batch as f64;
                    *v = (self.momentum * f64::from(*v) + noisy) as f32;
                    *w -= (self.lr * f64::from(*v)) as f32;
                }
            }
            on_step(step + 1, spent.steps);
        }
        Ok((layout.weights(&flat)?, spent))
    }

    /// One example's loss gradient, per tensor in layout order.
    fn example_gradient(
        &self,
        task: &ImageClassification,
        model: &canao_train::LeNet,
        layout: &Layout,
        item: usize,
        step: u64,
    ) -> Result<Vec<Vec<f32>>> {
        let mut noise = Dropout {
            rate: 0.0,
            rng: ChaCha8Rng::seed_from_u64(step),
        };
        let loss = task.loss(model, &[item], &mut noise);
        let grads = burn::optim::GradientsParams::from_grads(loss.backward(), model);
        layout
            .tensors
            .iter()
            .map(|(name, shape)| {
                let id = param_id(name);
                let values = match shape.len() {
                    1 => grads.get::<1>(id).map(values),
                    2 => grads.get::<2>(id).map(values),
                    4 => grads.get::<4>(id).map(values),
                    _ => None,
                };
                values.ok_or_else(|| PrivacyError::Config {
                    field: name.clone(),
                    detail: "has no gradient (not a LeNet parameter?)".into(),
                })
            })
            .collect()
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}
