//! Knowledge distillation of a BERT student from a fine-tuned BERT teacher, the losses CANAO-style
//! work trains its candidates with (our choice of weights, written down here since the paper
//! gives none):
//!
//! loss = a_soft * T^2 * KL(softmax(t / T) || softmax(s / T))
//!      + a_hard * CE(s, y)
//!      + a_hidden * mean over mapped layers of the masked MSE of hidden states,
//!
//! with T = 2, a_soft = a_hard = 0.5 and a_hidden = 1 by default. A student layer is mapped to
//! the teacher layer it inherited its weights from (`StudentLayer::teacher`), so the target of
//! each student layer is the output of the very layer it started as; widths agree because
//! students keep the teacher's width.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Device, Tensor};
use canao_ir::Weights;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::bert::BertClassifier;
use crate::data::SplitPart;
use crate::error::Result;
use crate::layers::Dropout;
use crate::learner::{Learner, cross_entropy};
use crate::text_task::TextClassification;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillLoss {
    pub temperature: f32,
    pub soft: f32,
    pub hard: f32,
    pub hidden: f32,
}

impl Default for DistillLoss {
    fn default() -> Self {
        Self {
            temperature: 2.0,
            soft: 0.5,
            hard: 0.5,
            hidden: 1.0,
        }
    }
}

/// A student's task with its teacher.
#[derive(Debug)]
pub struct Distillation {
    /// The student's own task (data, architecture, device).
    pub student: TextClassification,
    /// The fine-tuned teacher, in evaluation mode (no gradients).
    pub teacher: BertClassifier,
    /// For each student layer, the teacher layer whose output it is trained to match.
    pub layer_map: Vec<usize>,
    pub loss: DistillLoss,
}

/// Moves a teacher's (gradient-free) tensor onto the student's autodiff device.
fn onto<const D: usize>(t: Tensor<D>, device: &Device) -> Tensor<D> {
    Tensor::from_data(t.into_data(), device)
}

impl Learner for Distillation {
    type Model = BertClassifier;

    fn epoch_batches(&self, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        self.student.epoch_batches(batch, rng)
    }

    fn loss(&self, model: &BertClassifier, items: &[usize], noise: &mut Dropout) -> Tensor<1> {
        let batch = self.student.batch(items);
        let device = &self.student.device;
        let teacher = self.teacher.forward(&batch, None);
        let student = model.forward(&batch, Some(noise));
        let labels: Vec<usize> = items.iter().map(|&i| self.student.data.labels[i]).collect();
        let l = self.loss;
        let t = l.temperature;
        let target = softmax(onto(teacher.logits, device) / t, 1);
        let kl = (target.clone() * (target.clamp_min(1e-12).log() - log_softmax(student.logits.clone() / t, 1)))
            .sum_dim(1)
            .mean();
        let mut total = kl * (l.soft * t * t) + cross_entropy(student.logits, &labels) * l.hard;
        if l.hidden > 0.0 && !self.layer_map.is_empty() {
            let mask = Tensor::<2>::from_data(
                burn::tensor::TensorData::new(batch.mask.clone(), [batch.batch, batch.seq]),
                device,
            )
            .reshape([batch.batch, batch.seq, 1]);
            let tokens = mask.clone().sum();
            let mut mse = Tensor::<1>::zeros([1], device);
            for (s, &k) in student.layers.iter().zip(&self.layer_map) {
                let target = onto(teacher.layers[k].clone(), device);
                let width = target.dims()[2] as f32;
                let sq = (s.clone() - target).square() * mask.clone();
                mse = mse + sq.sum() / (tokens.clone() * width);
            }
            total = total + mse * (l.hidden / self.layer_map.len() as f32);
        }
        total
    }

    fn accuracy(&self, model: &BertClassifier, part: SplitPart) -> f64 {
        self.student.accuracy(model, part)
    }

    fn load(&self, weights: &Weights) -> Result<BertClassifier> {
        self.student.load(weights)
    }
}
