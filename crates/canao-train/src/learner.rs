//! The seam between the training loop and a model with its task: what a batch is, its loss,
//! and accuracy on a part of the split. The loop knows nothing of tokens or images.

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use canao_ir::Weights;
use rand_chacha::ChaCha8Rng;

use crate::data::SplitPart;
use crate::error::Result;
use crate::layers::Dropout;

pub trait Learner {
    type Model: Module + Clone;

    /// The training batches of one epoch, as item indices, in a deterministic order drawn from
    /// `rng` (seeded per epoch by the loop).
    fn epoch_batches(&self, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>>;

    /// The scalar loss of `items` on `model` (an autodiff model), dropout drawn from `noise`.
    fn loss(&self, model: &Self::Model, items: &[usize], noise: &mut Dropout) -> Tensor<1>;

    /// Accuracy of `model` (in evaluation mode) on a part of the split.
    fn accuracy(&self, model: &Self::Model, part: SplitPart) -> f64;

    /// Rebuilds the model from weights with canao's names (a checkpoint, on resume).
    fn load(&self, weights: &Weights) -> Result<Self::Model>;
}

/// Mean cross-entropy of `logits` [batch, classes] against `labels`.
pub fn cross_entropy(logits: Tensor<2>, labels: &[usize]) -> Tensor<1> {
    let device = logits.device();
    let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    let n = labels.len();
    let index = Tensor::<2, Int>::from_data(TensorData::new(labels, [n, 1]), &device);
    burn::tensor::activation::log_softmax(logits, 1)
        .gather(1, index)
        .mean()
        .neg()
}

/// Predicted class of each row of `logits`.
pub fn predictions(logits: Tensor<2>) -> Vec<usize> {
    logits.argmax(1).into_data().iter::<i64>().map(|v| v as usize).collect()
}

/// Share of `items` whose prediction equals its label.
pub fn accuracy_of(predicted: &[usize], labels: &[usize]) -> f64 {
    let right = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    right as f64 / labels.len().max(1) as f64
}
