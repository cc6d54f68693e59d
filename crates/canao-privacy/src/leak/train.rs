//! Training the victim to the phases the attacks are tried at (untrained, a few epochs,
//! converged), with the same hand-written model the attacks invert, so the weights attacked are
//! exactly the weights trained: mini-batch SGD with momentum, per-image gradients in parallel.

use canao_train::data::ImageSet;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, config};
use crate::leak::victim::Net;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VictimTraining {
    pub batch: usize,
    pub lr: f64,
    pub momentum: f64,
}

impl Default for VictimTraining {
    fn default() -> Self {
        Self {
            batch: 64,
            lr: 0.01,
            momentum: 0.9,
        }
    }
}

/// Image `i` of `data` as `f64`, and its one-hot label.
pub fn example(data: &ImageSet, i: usize, classes: usize) -> (Vec<f64>, Vec<f64>) {
    let image = data.image(i).iter().map(|&p| f64::from(p)).collect();
    let mut label = vec![0.0; classes];
    label[data.labels[i]] = 1.0;
    (image, label)
}

/// One epoch over `items` in a seeded order; returns the mean loss. `velocity` is the momentum
/// buffer (one vector per tensor), carried between epochs.
pub fn epoch(
    net: &mut Net<f64>,
    data: &ImageSet,
    items: &[usize],
    how: &VictimTraining,
    velocity: &mut [Vec<f64>],
    rng: &mut ChaCha8Rng,
) -> Result<f64> {
    let mut order = items.to_vec();
    order.shuffle(rng);
    let classes = net.dims.classes;
    let mut loss_sum = 0.0;
    for batch in order.chunks(how.batch) {
        let zero = || (0.0, net.tensors.iter().map(|t| vec![0.0; t.len()]).collect::<Vec<_>>());
        let (loss, sum) = batch
            .par_iter()
            .fold(zero, |(l, mut acc), &i| {
                let (image, label) = example(data, i, classes);
                let g = net.gradients(&image, &label);
                add(&mut acc, &g.params);
                (l + g.loss, acc)
            })
            .reduce(zero, |(la, mut a), (lb, b)| {
                add(&mut a, &b);
                (la + lb, a)
            });
        if !loss.is_finite() {
            return Err(config(
                "victim_training",
                format!("diverged: batch loss {loss} at lr {}", how.lr),
            ));
        }
        loss_sum += loss;
        let scale = 1.0 / batch.len() as f64;
        for ((t, v), g) in net.tensors.iter_mut().zip(velocity.iter_mut()).zip(&sum) {
            for ((w, v), g) in t.iter_mut().zip(v.iter_mut()).zip(g) {
                *v = how.momentum * *v + g * scale;
                *w -= how.lr * *v;
            }
        }
    }
    Ok(loss_sum / items.len().max(1) as f64)
}

fn add(acc: &mut [Vec<f64>], g: &[Vec<f64>]) {
    for (a, g) in acc.iter_mut().zip(g) {
        a.iter_mut().zip(g).for_each(|(a, g)| *a += g);
    }
}

/// Share of `items` the model classifies right.
pub fn accuracy(net: &Net<f64>, data: &ImageSet, items: &[usize]) -> f64 {
    let right = items
        .par_iter()
        .filter(|&&i| net.predict(&example(data, i, net.dims.classes).0) == data.labels[i])
        .count();
    right as f64 / items.len().max(1) as f64
}
