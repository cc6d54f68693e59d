//! The training loop: AdamW with linear warm-up and linear decay, global-norm gradient clipping,
//! structure constraints projected after every step, validation after every epoch with early
//! stopping on it, an optional regulariser (a loss term and an epoch-end hook, for methods such as
//! ADMM), `metrics.jsonl`, and checkpoints (every N steps and at each epoch's end) that
//! `resume` continues from with the same data order, dropout masks and optimiser state, so a
//! resumed run ends where an uninterrupted one of the same seed does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, EpochRecord, LoopState};
use crate::clip::clip_global_norm;
use crate::constraint::Constraints;
use crate::data::SplitPart;
use crate::error::{Result, TrainError, io};
use crate::layers::Dropout;
use crate::learner::Learner;
use crate::params;
use crate::regulariser::{EpochEnd, NoPenalty, Regulariser};

/// Hyperparameters of a run (written to the run folder as resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Share of all steps spent warming up linearly from 0 to `lr`; then linear decay to 0.
    pub warmup: f64,
    pub weight_decay: f64,
    /// Global gradient-norm clip.
    pub clip_norm: f32,
    pub dropout: f32,
    /// Early stopping: stop after this many epochs without a better validation accuracy.
    pub patience: usize,
    /// Also checkpoint every N steps (besides each epoch's end).
    pub checkpoint_every: Option<u64>,
    pub seed: u64,
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, detail: String| {
            Err(TrainError::Config {
                field: field.into(),
                detail,
            })
        };
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.batch == 0 {
            return bad("batch", "must be at least 1".into());
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", format!("is {}, must be positive", self.lr));
        }
        if !(0.0..1.0).contains(&self.warmup) {
            return bad("warmup", format!("is {}, must be in [0, 1)", self.warmup));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("is {}, must be in [0, 1)", self.dropout));
        }
        if self.clip_norm.is_nan() || self.clip_norm <= 0.0 {
            return bad("clip_norm", format!("is {}, must be positive", self.clip_norm));
        }
        if self.checkpoint_every == Some(0) {
            return bad("checkpoint_every", "must be at least 1".into());
        }
        Ok(())
    }

    /// The learning rate of optimiser step `step` of `total`.
    pub fn lr_at(&self, step: u64, total: u64) -> f64 {
        let warm = (self.warmup * total as f64).round() as u64;
        let s = step + 1;
        if s <= warm {
            self.lr * s as f64 / warm as f64
        } else {
            let left = total.saturating_sub(s) as f64 / total.saturating_sub(warm).max(1) as f64;
            self.lr * left.max(0.0)
        }
    }

    fn optimizer(&self) -> ModuleOptimizer {
        // PyTorch's AdamW epsilon (burn defaults to 1e-5); clipping is global, done by the loop.
        AdamWConfig::new()
            .with_weight_decay(self.weight_decay as f32)
            .with_epsilon(1e-8)
            .init()
    }
}

/// One progress report, after each step and at each epoch's end.
#[derive(Debug, Clone)]
pub struct Progress {
    pub epoch: usize,
    pub epochs: usize,
    pub step: u64,
    pub total_steps: u64,
    pub loss: f32,
    pub samples_per_s: f64,
    /// Set at an epoch's end.
    pub validation_accuracy: Option<f64>,
}

/// What a finished run hands back.
#[derive(Debug)]
pub struct Outcome<M> {
    /// The weights of the best validation epoch.
    pub model: M,
    /// The weights after the last epoch (what a regulariser has shaped longest).
    pub last: M,
    pub state: LoopState,
    pub test_accuracy: f64,
    pub best_weights: PathBuf,
}

/// Runs (or, with `resume`, continues) training of `model` in `out`.
pub fn train<L: Learner>(
    learner: &L,
    model: L::Model,
    config: &TrainConfig,
    constraints: &Constraints,
    out: &Path,
    resume: bool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Outcome<L::Model>> {
    let shaping = Shaping {
        constraints,
        regulariser: &mut NoPenalty,
    };
    train_with(learner, model, config, shaping, out, resume, progress)
}

/// What shapes the weights besides the task loss: constraints projected after every step and a
/// regulariser in the loss.
pub struct Shaping<'a, M> {
    pub constraints: &'a Constraints,
    pub regulariser: &'a mut dyn Regulariser<M>,
}

impl<M> std::fmt::Debug for Shaping<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shaping")
            .field("constraints", &self.constraints)
            .finish_non_exhaustive()
    }
}

/// [`train`] with a regulariser.
pub fn train_with<L: Learner>(
    learner: &L,
    model: L::Model,
    config: &TrainConfig,
    shaping: Shaping<'_, L::Model>,
    out: &Path,
    resume: bool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Outcome<L::Model>> {
    let Shaping {
        constraints,
        regulariser,
    } = shaping;
    config.validate()?;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let metrics_path = out.join("metrics.jsonl");
    let (mut model, optimizer, state) = match checkpoint::load_latest(out)? {
        Some(ckpt) if resume => {
            let model = learner.load(&ckpt.weights)?;
            let optimizer = ckpt.optimizer(config.optimizer())?;
            regulariser.restore(ckpt.regulariser()?)?;
            cut_metrics(&metrics_path, ckpt.state.metrics_bytes)?;
            (model, optimizer, ckpt.state)
        }
        _ => {
            let model = constraints.project(model);
            std::fs::write(&metrics_path, b"").map_err(io(&metrics_path))?;
            (model, config.optimizer(), LoopState::default())
        }
    };
    let per_epoch = learner
        .epoch_batches(config.batch, &mut epoch_rng(config.seed, 0))
        .len() as u64;
    let mut run = Run {
        learner,
        config,
        constraints,
        regulariser,
        probe: probe_items(learner, config),
        out,
        metrics: std::fs::OpenOptions::new()
            .append(true)
            .open(&metrics_path)
            .map_err(io(&metrics_path))?,
        metrics_path,
        optimizer,
        base_elapsed: state.elapsed_s,
        state,
        total: per_epoch * config.epochs as u64,
        started: Instant::now(),
        last_good: None,
        progress,
    };
    while run.state.epoch < config.epochs && !run.state.stopped_early {
        model = run.epoch(model)?;
    }
    let best_weights = out.join(BEST);
    let best = learner.load(&checkpoint::read_weights(&best_weights)?)?;
    let test_accuracy = learner.accuracy(&best.valid(), SplitPart::Test);
    Ok(Outcome {
        model: best,
        last: model,
        state: run.state,
        test_accuracy,
        best_weights,
    })
}

/// The weights of the best validation epoch so far, in the run folder.
const BEST: &str = "best.safetensors";

/// A run in progress: what one epoch and one step need besides the model.
struct Run<'a, L: Learner> {
    learner: &'a L,
    config: &'a TrainConfig,
    constraints: &'a Constraints,
    regulariser: &'a mut dyn Regulariser<L::Model>,
    /// The training items a regulariser's task loss is measured on.
    probe: Vec<usize>,
    out: &'a Path,
    metrics: std::fs::File,
    metrics_path: PathBuf,
    optimizer: ModuleOptimizer,
    state: LoopState,
    /// Optimiser steps of the whole run (the learning-rate schedule's length).
    total: u64,
    started: Instant,
    /// Training seconds before this process (a resumed run's).
    base_elapsed: f64,
    last_good: Option<PathBuf>,
    progress: &'a mut dyn FnMut(&Progress),
}

impl<L: Learner> Run<'_, L> {
    /// Trains the rest of the current epoch, validates, keeps the best weights, checkpoints.
    fn epoch(&mut self, mut model: L::Model) -> Result<L::Model> {
        let epoch = self.state.epoch;
        let batches = self
            .learner
            .epoch_batches(self.config.batch, &mut epoch_rng(self.config.seed, epoch));
        let start = Instant::now();
        let resumed_samples = self.state.epoch_samples;
        for items in batches.iter().skip(self.state.next_batch) {
            let (trained, loss) = self.step(model, items)?;
            model = trained;
            let rate = (self.state.epoch_samples - resumed_samples) as f64 / start.elapsed().as_secs_f64().max(1e-9);
            self.report(epoch, loss, rate, None);
            let due = self
                .config
                .checkpoint_every
                .is_some_and(|n| self.state.step.is_multiple_of(n));
            if due && self.state.next_batch < batches.len() {
                self.checkpoint(&model)?;
            }
        }
        let validation = self.learner.accuracy(&model.valid(), SplitPart::Validation);
        let regulariser = self.end_regulariser_epoch(epoch, &model)?;
        let wall = start.elapsed().as_secs_f64();
        let record = EpochRecord {
            epoch,
            train_loss: self.state.epoch_loss_sum / self.state.epoch_samples.max(1) as f64,
            validation_accuracy: validation,
            samples_per_s: (self.state.epoch_samples - resumed_samples) as f64 / wall.max(1e-9),
            wall_s: wall,
        };
        self.log(serde_json::json!({"kind": "epoch", "record": record, "regulariser": regulariser}))?;
        let s = &mut self.state;
        if s.best_validation.is_none_or(|b| validation > b) {
            s.best_validation = Some(validation);
            s.best_epoch = Some(epoch);
            s.stale_epochs = 0;
            checkpoint::write_weights(&self.out.join(BEST), &params::export(&model))?;
        } else {
            s.stale_epochs += 1;
        }
        s.stopped_early = s.stale_epochs >= self.config.patience && epoch + 1 < self.config.epochs;
        let (loss, rate) = (record.train_loss as f32, record.samples_per_s);
        s.history.push(record);
        s.epoch += 1;
        s.next_batch = 0;
        s.epoch_loss_sum = 0.0;
        s.epoch_samples = 0;
        self.checkpoint(&model)?;
        self.report(epoch, loss, rate, Some(validation));
        Ok(model)
    }

    /// One optimiser step on `items`: loss, backward, global-norm clip, AdamW, projection.
    /// Returns the stepped model and the batch's loss.
    fn step(&mut self, model: L::Model, items: &[usize]) -> Result<(L::Model, f32)> {
        let (config, s) = (self.config, &self.state);
        let lr = config.lr_at(s.step, self.total);
        let mut noise = Dropout {
            rate: config.dropout,
            rng: step_rng(config.seed, s.step),
        };
        let task = self.learner.loss(&model, items, &mut noise);
        let penalty = self.regulariser.penalty(&model);
        let penalty_value = penalty.as_ref().map(|p| p.clone().into_scalar::<f32>());
        let loss = match penalty {
            Some(p) => task + p,
            None => task,
        };
        let value = loss.clone().into_scalar::<f32>();
        if !value.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                step: s.step,
                epoch: s.epoch,
                loss: value,
                last_good: self.last_good.clone(),
            });
        }
        let mut grads = GradientsParams::from_grads(loss.backward(), &model);
        let grad_norm = clip_global_norm(&model, &mut grads, config.clip_norm);
        let model = self.constraints.project(self.optimizer.step(lr, model, grads));
        let s = &mut self.state;
        s.step += 1;
        s.next_batch += 1;
        s.epoch_loss_sum += f64::from(value) * items.len() as f64;
        s.epoch_samples += items.len();
        let (epoch, step, elapsed) = (s.epoch, s.step, self.elapsed());
        self.log(serde_json::json!({
            "kind": "step", "epoch": epoch, "step": step, "loss": value, "penalty": penalty_value, "lr": lr,
            "grad_norm": grad_norm, "elapsed_s": elapsed,
        }))?;
        Ok((model, value))
    }

    /// Lets the regulariser update its variables after `epoch`; returns what it reports.
    fn end_regulariser_epoch(&mut self, epoch: usize, model: &L::Model) -> Result<serde_json::Value> {
        let (learner, probe, batch) = (self.learner, &self.probe, self.config.batch);
        let mut task_loss = |m: &L::Model| mean_task_loss(learner, m, probe, batch);
        self.regulariser.end_epoch(EpochEnd {
            epoch,
            model: &model.valid(),
            task_loss: &mut task_loss,
        })
    }

    /// Training seconds of the whole run so far.
    fn elapsed(&self) -> f64 {
        self.base_elapsed + self.started.elapsed().as_secs_f64()
    }

    fn log(&mut self, value: serde_json::Value) -> Result<()> {
        log(&mut self.metrics, &self.metrics_path, value)
    }

    /// Saves the model, the optimiser and the loop state; names it the last good checkpoint.
    fn checkpoint(&mut self, model: &L::Model) -> Result<()> {
        self.state.elapsed_s = self.elapsed();
        self.state.metrics_bytes = file_len(&self.metrics_path)?;
        let regulariser = self.regulariser.state();
        let saved = checkpoint::save(
            self.out,
            &params::export(model),
            &self.optimizer,
            &self.state,
            &regulariser,
        )?;
        self.last_good = Some(saved);
        Ok(())
    }

    fn report(&mut self, epoch: usize, loss: f32, samples_per_s: f64, validation_accuracy: Option<f64>) {
        (self.progress)(&Progress {
            epoch,
            epochs: self.config.epochs,
            step: self.state.step,
            total_steps: self.total,
            loss,
            samples_per_s,
            validation_accuracy,
        });
    }
}

/// Training items a regulariser's task loss is measured on: the first of epoch 0's order.
const PROBE_ITEMS: usize = 2048;

fn probe_items<L: Learner>(learner: &L, config: &TrainConfig) -> Vec<usize> {
    let batches = learner.epoch_batches(config.batch, &mut epoch_rng(config.seed, 0));
    batches.into_iter().flatten().take(PROBE_ITEMS).collect()
}

/// Mean task loss of `model` over `items`, in batches, without dropout.
fn mean_task_loss<L: Learner>(learner: &L, model: &L::Model, items: &[usize], batch: usize) -> f64 {
    let mut quiet = Dropout {
        rate: 0.0,
        rng: step_rng(0, 0),
    };
    let total: f64 = items
        .chunks(batch)
        .map(|chunk| f64::from(learner.loss(model, chunk, &mut quiet).into_scalar::<f32>()) * chunk.len() as f64)
        .sum();
    total / items.len().max(1) as f64
}

/// The data-order stream of one epoch: a function of the seed and the epoch alone.
fn epoch_rng(seed: u64, epoch: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1 + epoch as u64);
    rng
}

/// The dropout stream of one step: a function of the seed and the step alone.
fn step_rng(seed: u64, step: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xD12_0F0A7);
    rng.set_stream(step);
    rng
}

fn log(file: &mut std::fs::File, path: &Path, value: serde_json::Value) -> Result<()> {
    writeln!(file, "{value}").and_then(|()| file.flush()).map_err(io(path))
}

fn file_len(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path).map_err(io(path))?.len())
}

/// Cuts `metrics.jsonl` back to what the checkpoint had seen, so no line appears twice.
fn cut_metrics(path: &Path, bytes: u64) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io(path))?;
    file.set_len(bytes).map_err(io(path))
}
