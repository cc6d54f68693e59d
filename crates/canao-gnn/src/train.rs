//! Training a GCN: Adam, weight decay on the first layer (as Kipf and Welling), dropout on the
//! input features and the hidden layer, full-batch epochs on a fixed or per-epoch adjacency.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::adjacency::Adjacency;
use crate::dataset::Dataset;
use crate::error::{Result, config_err};
use crate::gcn::{Dims, Gcn, Grads};
use crate::loss::{accuracy, cross_entropy};

/// Hyperparameters; the defaults are Kipf and Welling's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub hidden: usize,
    pub dropout: f64,
    pub weight_decay: f64,
    pub lr: f64,
    pub epochs: usize,
    /// Which epoch's weights `fit` returns.
    pub keep: Keep,
}

/// Model selection on the validation split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Keep {
    /// The weights after the last epoch.
    Last,
    /// The weights of the epoch with the highest validation accuracy (the first such), as
    /// PyTorch Geometric's GCN example reports.
    BestValidation,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            hidden: 16,
            dropout: 0.5,
            weight_decay: 5e-4,
            lr: 0.01,
            epochs: 200,
            keep: Keep::BestValidation,
        }
    }
}

impl TrainConfig {
    pub fn check(&self) -> Result<()> {
        if self.hidden == 0 {
            return config_err("hidden", "must be positive");
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return config_err("dropout", format!("{} is outside [0, 1)", self.dropout));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return config_err("lr", format!("{} must be positive", self.lr));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return config_err("weight_decay", format!("{} must be non-negative", self.weight_decay));
        }
        if self.epochs == 0 {
            return config_err("epochs", "must be positive");
        }
        Ok(())
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f32,
    pub val_loss: f32,
    pub train_accuracy: f64,
    pub val_accuracy: f64,
}

/// The labels of nodes that have one (the dataset checks its splits are labelled).
pub fn labels_of(data: &Dataset, nodes: &[usize]) -> Vec<usize> {
    nodes
        .iter()
        .map(|&i| data.labels[i].expect("split nodes are labelled"))
        .collect()
}

/// Accuracy of `model` on `nodes` of `data` over adjacency `adj`.
pub fn evaluate(model: &Gcn, adj: &Adjacency, data: &Dataset, nodes: &[usize]) -> f64 {
    accuracy(
        &model.logits(adj, &data.features),
        data.classes,
        nodes,
        &labels_of(data, nodes),
    )
}

/// A model and its optimiser state, stepped one epoch at a time.
#[derive(Debug)]
pub struct Trainer {
    pub model: Gcn,
    config: TrainConfig,
    adam: Adam,
    rng: ChaCha8Rng,
    train_labels: Vec<usize>,
}

impl Trainer {
    pub fn new(data: &Dataset, config: TrainConfig, seed: u64) -> Result<Self> {
        config.check()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let dims = Dims {
            features: data.features.dims(),
            hidden: config.hidden,
            classes: data.classes,
        };
        let model = Gcn::init(dims, &mut rng);
        Ok(Self {
            adam: Adam::new(&model, config.lr as f32),
            model,
            config,
            rng,
            train_labels: labels_of(data, &data.train),
        })
    }

    /// One full-batch step on the training nodes over `adj`; returns the loss (weight decay
    /// included).
    pub fn step(&mut self, data: &Dataset, adj: &Adjacency) -> f32 {
        let pass = self
            .model
            .forward(adj, &data.features, Some((self.config.dropout as f32, &mut self.rng)));
        let (loss, dz) = cross_entropy(&pass.z, data.classes, &data.train, &self.train_labels);
        let (mut grads, _) = self.model.backward(adj, &data.features, pass, dz);
        let wd = self.config.weight_decay as f32;
        let decay: f32 = self.model.w1.iter().map(|w| w * w).sum::<f32>() * wd / 2.0;
        grads.w1.iter_mut().zip(&self.model.w1).for_each(|(g, w)| *g += wd * w);
        self.adam.update(&mut self.model, &grads);
        loss + decay
    }

    /// Trains over a fixed adjacency for the configured epochs, reporting each epoch; the model
    /// ends as `TrainConfig::keep` says.
    pub fn fit(&mut self, data: &Dataset, adj: &Adjacency, on_epoch: impl FnMut(&EpochLog)) -> Vec<EpochLog> {
        self.fit_with(data, adj, |_: &Gcn| None, on_epoch)
    }

    /// As `fit`, but each epoch's step runs over the adjacency `perturb` returns for the current
    /// model (None: the clean `adj`); validation always uses the clean graph.
    pub fn fit_with(
        &mut self,
        data: &Dataset,
        adj: &Adjacency,
        mut perturb: impl FnMut(&Gcn) -> Option<Adjacency>,
        mut on_epoch: impl FnMut(&EpochLog),
    ) -> Vec<EpochLog> {
        let mut logs: Vec<EpochLog> = Vec::new();
        let mut best: Option<(f64, Gcn)> = None;
        for epoch in 0..self.config.epochs {
            let perturbed = perturb(&self.model);
            let loss = self.step(data, perturbed.as_ref().unwrap_or(adj));
            let log = self.log(data, adj, epoch, loss);
            on_epoch(&log);
            if self.config.keep == Keep::BestValidation && best.as_ref().is_none_or(|b| log.val_accuracy > b.0) {
                best = Some((log.val_accuracy, self.model.clone()));
            }
            logs.push(log);
        }
        if let Some((_, model)) = best {
            self.model = model;
        }
        logs
    }

    fn log(&self, data: &Dataset, adj: &Adjacency, epoch: usize, loss: f32) -> EpochLog {
        let z = self.model.logits(adj, &data.features);
        let val_labels = labels_of(data, &data.val);
        EpochLog {
            epoch,
            loss,
            val_loss: cross_entropy(&z, data.classes, &data.val, &val_labels).0,
            train_accuracy: accuracy(&z, data.classes, &data.train, &self.train_labels),
            val_accuracy: accuracy(&z, data.classes, &data.val, &val_labels),
        }
    }
}

/// Adam (Kingma and Ba) with the usual betas.
#[derive(Debug)]
struct Adam {
    lr: f32,
    t: i32,
    m: [Vec<f32>; 4],
    v: [Vec<f32>; 4],
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

impl Adam {
    fn new(model: &Gcn, lr: f32) -> Self {
        let zeros = || [&model.w1, &model.b1, &model.w2, &model.b2].map(|p| vec![0.0; p.len()]);
        Self {
            lr,
            t: 0,
            m: zeros(),
            v: zeros(),
        }
    }

    fn update(&mut self, model: &mut Gcn, grads: &Grads) {
        self.t += 1;
        let (c1, c2) = (1.0 - BETA1.powi(self.t), 1.0 - BETA2.powi(self.t));
        let params = [&mut model.w1, &mut model.b1, &mut model.w2, &mut model.b2];
        let grads = [&grads.w1, &grads.b1, &grads.w2, &grads.b2];
        for (k, (p, g)) in params.into_iter().zip(grads).enumerate() {
            for ((p, g), (m, v)) in p.iter_mut().zip(g).zip(self.m[k].iter_mut().zip(self.v[k].iter_mut())) {
                *m = BETA1 * *m + (1.0 - BETA1) * g;
                *v = BETA2 * *v + (1.0 - BETA2) * g * g;
                *p -= self.lr * (*m / c1) / ((*v / c2).sqrt() + EPS);
            }
        }
    }
}
