//! Image classification with LeNet-5: shuffled batches, cross-entropy, accuracy.

use burn::tensor::{Device, Tensor, TensorData};
use canao_ir::Weights;
use canao_ir::builders::LeNetArch;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::{ImageSet, SplitPart};
use crate::error::Result;
use crate::layers::Dropout;
use crate::learner::{Learner, accuracy_of, cross_entropy, predictions};
use crate::lenet::LeNet;

/// Images per forward pass in evaluation.
const EVAL_BATCH: usize = 500;

#[derive(Debug)]
pub struct ImageClassification {
    pub data: ImageSet,
    pub arch: LeNetArch,
    pub device: Device,
}

impl ImageClassification {
    /// Images `items` as [n, C, H, W] on the device of `like`.
    pub fn images(&self, items: &[usize], device: &Device) -> Tensor<4> {
        let [c, h, w] = self.data.shape;
        let pixels: Vec<f32> = items.iter().flat_map(|&i| self.data.image(i).iter().copied()).collect();
        Tensor::from_data(TensorData::new(pixels, [items.len(), c, h, w]), device)
    }

    fn labels(&self, items: &[usize]) -> Vec<usize> {
        items.iter().map(|&i| self.data.labels[i]).collect()
    }

    pub fn predict(&self, model: &LeNet, items: &[usize]) -> Vec<usize> {
        let device = model.fc3.w.val().device();
        items
            .chunks(EVAL_BATCH)
            .flat_map(|chunk| predictions(model.forward(self.images(chunk, &device))))
            .collect()
    }
}

impl Learner for ImageClassification {
    type Model = LeNet;

    fn epoch_batches(&self, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        let mut order = self.data.split.train.clone();
        order.shuffle(rng);
        order.chunks(batch).map(<[usize]>::to_vec).collect()
    }

    /// LeNet-5 has no dropout: `noise` is unused.
    fn loss(&self, model: &LeNet, items: &[usize], _noise: &mut Dropout) -> Tensor<1> {
        let logits = model.forward(self.images(items, &self.device));
        cross_entropy(logits, &self.labels(items))
    }

    fn accuracy(&self, model: &LeNet, part: SplitPart) -> f64 {
        let items = self.data.split.part(part);
        accuracy_of(&self.predict(model, items), &self.labels(items))
    }

    fn load(&self, weights: &Weights) -> Result<LeNet> {
        LeNet::load(&self.arch, weights, &self.device)
    }
}
