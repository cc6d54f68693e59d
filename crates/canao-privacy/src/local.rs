//! A client's local training: plain SGD with momentum over its own images for a few epochs,
//! starting from the model the enclave broadcast, as FedAvg clients do (a fresh optimiser each
//! round, so no state leaks between rounds).

use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use canao_ir::Weights;
use canao_train::ImageClassification;
use canao_train::layers::Dropout;
use canao_train::learner::Learner;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{PrivacyError, Result, config};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalTraining {
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub momentum: f64,
}

impl Default for LocalTraining {
    /// NIID-Bench's FedAvg client: batch 64, SGD lr 0.01, momentum 0.9.
    fn default() -> Self {
        Self {
            epochs: 2,
            batch: 64,
            lr: 0.01,
            momentum: 0.9,
        }
    }
}

impl LocalTraining {
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(config("local_epochs", "must be at least 1"));
        }
        if self.batch == 0 {
            return Err(config("batch", "must be at least 1"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(config("lr", format!("is {}, must be positive", self.lr)));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(config("momentum", format!("is {}, must be in [0, 1)", self.momentum)));
        }
        Ok(())
    }

    /// Trains from `start` on `items` of `task`; returns the trained weights and the mean
    /// training loss. `who` = (client, round) names the step in a non-finite-loss error.
    pub fn run(
        &self,
        task: &ImageClassification,
        start: &Weights,
        items: &[usize],
        seed: u64,
        who: (u32, u32),
    ) -> Result<(Weights, f32)> {
        let mut model = task.load(start)?;
        let mut optimizer = SgdConfig::new()
            .with_momentum(Some(MomentumConfig {
                momentum: self.momentum,
                dampening: 0.0,
                nesterov: false,
            }))
            .init();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // LeNet-5 has no dropout; the learner's seam asks for a noise source all the same.
        let mut noise = Dropout {
            rate: 0.0,
            rng: rng.clone(),
        };
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        for _ in 0..self.epochs {
            let mut order = items.to_vec();
            order.shuffle(&mut rng);
            for batch in order.chunks(self.batch) {
                let loss = task.loss(&model, batch, &mut noise);
                let value = loss.clone().into_scalar::<f32>();
                if !value.is_finite() {
                    let (client, round) = who;
                    return Err(PrivacyError::NonFiniteLoss {
                        client,
                        round,
                        loss: value,
                    });
                }
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optimizer.step(self.lr, model, grads);
                loss_sum += f64::from(value) * batch.len() as f64;
                seen += batch.len();
            }
        }
        Ok((
            canao_train::params::export(&model),
            (loss_sum / seen.max(1) as f64) as f32,
        ))
    }
}
