//! What `canao train` writes beside the loop's own files: the model description, the split,
//! the constraints, the final weights, `report.json` and `curve.svg`; and its progress bar.

use std::path::Path;

use anyhow::{Context, Result};
use canao_train::data::Split;
use canao_train::{Constraints, ModelSpec, Outcome, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::style::colors::{BLUE, RED};
use serde_json::json;

use crate::cmd::plot;
use crate::cmd::train::RunSettings;

/// The run folder and what describes the run.
#[derive(Debug)]
pub struct RunInfo<'a> {
    pub dir: &'a Path,
    pub settings: &'a RunSettings,
    pub spec: &'a ModelSpec,
    pub split: &'a Split,
    /// The file (or asset folder) the split's indices refer to.
    pub split_source: &'a Path,
    pub max_tokens: Option<usize>,
}

/// `model.ron`, `constraints.ron` and `split.json`, written before training starts.
pub fn write_inputs(info: &RunInfo, constraints: &Constraints) -> Result<()> {
    info.spec.save(&info.dir.join("model.ron"))?;
    constraints.save(&info.dir.join("constraints.ron"))?;
    let split = json!({
        "task": info.settings.task.name(),
        "source": info.split_source.display().to_string(),
        "indices": "0-based, among the source's items in file order (Rotten Tomatoes: its fresh and rotten rows, plot rows skipped; Fashion-MNIST: the 60k training images then the 10k test images)",
        "max_tokens": info.max_tokens,
        "sizes": {"train": info.split.train.len(), "validation": info.split.validation.len(), "test": info.split.test.len()},
        "train": info.split.train,
        "validation": info.split.validation,
        "test": info.split.test,
    });
    write_atomic(&info.dir.join("split.json"), &serde_json::to_vec(&split)?)
}

/// `weights.safetensors` (the best epoch's), `report.json` and `curve.svg`.
pub fn write_outputs<M>(info: &RunInfo, outcome: &Outcome<M>, wall_s: f64) -> Result<()> {
    let weights = info.dir.join("weights.safetensors");
    std::fs::copy(&outcome.best_weights, &weights).with_context(|| format!("writing {}", weights.display()))?;
    let s = &outcome.state;
    let samples_per_s = s.history.iter().map(|e| e.samples_per_s).sum::<f64>() / s.history.len().max(1) as f64;
    let report = json!({
        "model": info.settings.model,
        "task": info.settings.task.name(),
        "seed": info.settings.train.seed,
        "config": info.settings,
        "split_sizes": {"train": info.split.train.len(), "validation": info.split.validation.len(), "test": info.split.test.len()},
        "test_accuracy": outcome.test_accuracy,
        "best_validation_accuracy": s.best_validation,
        "best_epoch": s.best_epoch,
        "stopped_early": s.stopped_early,
        "epochs_run": s.history.len(),
        "steps": s.step,
        "validation_curve": s.history.iter().map(|e| e.validation_accuracy).collect::<Vec<_>>(),
        "history": s.history,
        "train_wall_s": s.elapsed_s,
        "wall_s_this_process": wall_s,
        "samples_per_s": samples_per_s,
        "constrained_params": outcome_constraints(info.dir)?,
    });
    write_atomic(&info.dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    let val: Vec<(f64, f64)> = s
        .history
        .iter()
        .map(|e| (e.epoch as f64 + 1.0, e.validation_accuracy))
        .collect();
    let loss: Vec<(f64, f64)> = s.history.iter().map(|e| (e.epoch as f64 + 1.0, e.train_loss)).collect();
    plot::xy(
        &info.dir.join("curve.svg"),
        &format!(
            "{} on {}: test accuracy {:.4}",
            info.spec_name(),
            info.settings.task.name(),
            outcome.test_accuracy
        ),
        "epoch",
        "validation accuracy (blue) / training loss (red)",
        &[],
        &[("validation accuracy", BLUE, &val), ("training loss", RED, &loss)],
        None,
    )?;
    println!(
        "{}: test accuracy {:.4} (best validation {:.4} at epoch {}), {} steps, {:.0} s",
        info.dir.display(),
        outcome.test_accuracy,
        s.best_validation.unwrap_or(f64::NAN),
        s.best_epoch.map_or(0, |e| e + 1),
        s.step,
        s.elapsed_s
    );
    Ok(())
}

fn outcome_constraints(dir: &Path) -> Result<usize> {
    Ok(Constraints::load(&dir.join("constraints.ron"))?.iter().count())
}

impl RunInfo<'_> {
    fn spec_name(&self) -> &'static str {
        match self.spec {
            ModelSpec::BertClassifier { .. } => "BERT classifier",
            ModelSpec::LeNet { .. } => "LeNet-5",
        }
    }
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The progress bar of a run: loss, throughput and ETA; a line per epoch without a terminal.
pub struct TrainBar {
    bar: ProgressBar,
}

pub fn bar(dir: &Path) -> TrainBar {
    eprintln!("training into {}", dir.display());
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps, {elapsed} (eta {eta}) {msg}")
            .expect("a valid template"),
    );
    TrainBar { bar }
}

impl TrainBar {
    pub fn update(&mut self, p: &Progress) {
        self.bar.set_length(p.total_steps);
        self.bar.set_position(p.step);
        match p.validation_accuracy {
            None => self.bar.set_message(format!(
                "epoch {}/{}, loss {:.4}, {:.1} samples/s",
                p.epoch + 1,
                p.epochs,
                p.loss,
                p.samples_per_s
            )),
            Some(acc) => {
                let line = format!(
                    "epoch {}/{}: training loss {:.4}, validation accuracy {:.4}, {:.1} samples/s",
                    p.epoch + 1,
                    p.epochs,
                    p.loss,
                    acc,
                    p.samples_per_s
                );
                if self.bar.is_hidden() {
                    eprintln!("{line}");
                } else {
                    self.bar.println(line);
                }
            }
        }
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
