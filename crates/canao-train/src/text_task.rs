//! Sentence classification with a BERT-family classifier: length-bucketed batches (sequences of
//! similar length share a batch, so little is padding), cross-entropy, accuracy.

use burn::tensor::Device;
use canao_ir::Weights;
use canao_ir::builders::BertArch;
use canao_models::Encoded;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::bert::{BertClassifier, TokenBatch};
use crate::data::{SplitPart, TextSet};
use crate::error::Result;
use crate::layers::Dropout;
use crate::learner::{Learner, accuracy_of, cross_entropy, predictions};

/// Batches per bucket: a bucket of `batch * BUCKET` shuffled items is sorted by length and cut.
const BUCKET: usize = 50;
/// Sequences per forward pass in evaluation.
const EVAL_BATCH: usize = 64;

#[derive(Debug)]
pub struct TextClassification {
    pub data: TextSet,
    pub arch: BertArch,
    pub classes: usize,
    /// The autodiff device models are loaded on.
    pub device: Device,
}

/// Pads `encoded` to the longest of them ([PAD] = 0, masked out).
pub fn token_batch(encoded: &[&Encoded]) -> TokenBatch {
    let seq = encoded.iter().map(|e| e.ids.len()).max().unwrap_or(1).max(1);
    let mut b = TokenBatch {
        batch: encoded.len(),
        seq,
        ids: Vec::with_capacity(encoded.len() * seq),
        types: Vec::with_capacity(encoded.len() * seq),
        mask: Vec::with_capacity(encoded.len() * seq),
    };
    for e in encoded {
        let pad = seq - e.ids.len();
        b.ids
            .extend(e.ids.iter().map(|&v| i64::from(v)).chain(std::iter::repeat_n(0, pad)));
        b.types.extend(
            e.type_ids
                .iter()
                .map(|&v| i64::from(v))
                .chain(std::iter::repeat_n(0, pad)),
        );
        b.mask
            .extend(std::iter::repeat_n(1.0, e.ids.len()).chain(std::iter::repeat_n(0.0, pad)));
    }
    b
}

impl TextClassification {
    pub fn batch(&self, items: &[usize]) -> TokenBatch {
        token_batch(&items.iter().map(|&i| &self.data.encoded[i]).collect::<Vec<_>>())
    }

    fn labels(&self, items: &[usize]) -> Vec<usize> {
        items.iter().map(|&i| self.data.labels[i]).collect()
    }

    /// Predicted classes of `items`, evaluated in length-sorted batches.
    pub fn predict(&self, model: &BertClassifier, items: &[usize]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&k| self.data.encoded[items[k]].ids.len());
        let mut predicted = vec![0; items.len()];
        for chunk in order.chunks(EVAL_BATCH) {
            let batch = self.batch(&chunk.iter().map(|&k| items[k]).collect::<Vec<_>>());
            for (&k, p) in chunk.iter().zip(predictions(model.forward(&batch, None).logits)) {
                predicted[k] = p;
            }
        }
        predicted
    }
}

/// Shuffles `items`, sorts buckets of `batch * BUCKET` by `len`, cuts batches, shuffles them.
/// Every batch but the last holds exactly `batch` items.
pub fn bucketed(items: &[usize], batch: usize, len: &dyn Fn(usize) -> usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order = items.to_vec();
    order.shuffle(rng);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for bucket in order.chunks_mut(batch * BUCKET) {
        bucket.sort_by_key(|&i| len(i));
        batches.extend(bucket.chunks(batch).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}

impl Learner for TextClassification {
    type Model = BertClassifier;

    fn epoch_batches(&self, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
        bucketed(&self.data.split.train, batch, &|i| self.data.encoded[i].ids.len(), rng)
    }

    fn loss(&self, model: &BertClassifier, items: &[usize], noise: &mut Dropout) -> burn::tensor::Tensor<1> {
        let out = model.forward(&self.batch(items), Some(noise));
        cross_entropy(out.logits, &self.labels(items))
    }

    fn accuracy(&self, model: &BertClassifier, part: SplitPart) -> f64 {
        let items = self.data.split.part(part);
        accuracy_of(&self.predict(model, items), &self.labels(items))
    }

    fn load(&self, weights: &Weights) -> Result<BertClassifier> {
        BertClassifier::load(&self.arch, self.classes, weights, &self.device)
    }
}
