//! Checkpoints of a training run: the weights (safetensors, canao's names), the optimiser state
//! (burn's record) and the loop's state (JSON), written to a temporary folder that is renamed
//! into place, then named by `latest` (itself replaced by a rename). A crash or a full disk at
//! any point leaves the previous checkpoint whole and `latest` naming it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use canao_ir::{ParamValue, Weights};
use canao_tensor::{SafetensorsFile, write_safetensors};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError, io};
use crate::regulariser::RegulariserState;

/// Where the loop stands, and what it has seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// The epoch in progress (or the next one, when `next_batch` is 0).
    pub epoch: usize,
    /// The next batch of `epoch` to train on.
    pub next_batch: usize,
    /// Optimiser steps taken.
    pub step: u64,
    /// Sum of per-item training loss and items so far in `epoch` (a mid-epoch resume goes on
    /// from them, so the epoch's mean loss is that of an uninterrupted run).
    pub epoch_loss_sum: f64,
    pub epoch_samples: usize,
    pub best_validation: Option<f64>,
    pub best_epoch: Option<usize>,
    /// Epochs since validation last improved (early stopping).
    pub stale_epochs: usize,
    pub history: Vec<EpochRecord>,
    /// Bytes of `metrics.jsonl` written when this state was taken (resume cuts it back).
    pub metrics_bytes: u64,
    /// Training seconds before this state (a resumed run adds its own).
    pub elapsed_s: f64,
    pub stopped_early: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub validation_accuracy: f64,
    pub samples_per_s: f64,
    pub wall_s: f64,
}

const LATEST: &str = "latest";

/// The checkpoint folder of a run.
pub fn dir(out: &Path) -> PathBuf {
    out.join("checkpoints")
}

/// Writes weights as safetensors through a temporary file renamed into place.
pub fn write_weights(path: &Path, weights: &Weights) -> Result<()> {
    let tensors: BTreeMap<String, canao_tensor::Tensor> = weights
        .iter()
        .filter_map(|(n, v)| match v {
            ParamValue::Dense(t) => Some((n.clone(), t.clone())),
            ParamValue::Csr(_) => None,
        })
        .collect();
    let tmp = path.with_extension("safetensors.tmp");
    write_safetensors(&tmp, &tensors)?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Reads weights written by [`write_weights`]; errors name the file.
pub fn read_weights(path: &Path) -> Result<Weights> {
    let file = SafetensorsFile::open(path)?;
    let mut weights = Weights::new();
    for name in file.infos().keys() {
        weights.insert_dense(name.clone(), file.tensor(name)?);
    }
    Ok(weights)
}

/// A regulariser's tensors in a checkpoint, and its scalars.
const REGULARISER_TENSORS: &str = "regulariser.safetensors";
const REGULARISER_SCALARS: &str = "regulariser.json";

/// Saves one checkpoint and points `latest` at it; older checkpoints are then removed.
pub fn save(
    out: &Path,
    weights: &Weights,
    optimizer: &ModuleOptimizer,
    state: &LoopState,
    regulariser: &RegulariserState,
) -> Result<PathBuf> {
    let root = dir(out);
    std::fs::create_dir_all(&root).map_err(io(&root))?;
    let name = format!("step-{:08}", state.step);
    let tmp = root.join(format!("{name}.tmp"));
    let done = root.join(&name);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    write_weights(&tmp.join("weights.safetensors"), weights)?;
    let opt = tmp.join("optimizer.bpk");
    optimizer.save(&opt).map_err(|e| TrainError::Checkpoint {
        file: opt.clone(),
        detail: e.to_string(),
    })?;
    let json = serde_json::to_string_pretty(state).expect("the loop state serialises");
    std::fs::write(tmp.join("state.json"), json).map_err(io(tmp.join("state.json")))?;
    write_weights(&tmp.join(REGULARISER_TENSORS), &regulariser.tensors)?;
    let scalars = serde_json::to_string(&regulariser.scalars).expect("JSON values serialise");
    std::fs::write(tmp.join(REGULARISER_SCALARS), scalars).map_err(io(tmp.join(REGULARISER_SCALARS)))?;
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(io(&done))?;
    }
    std::fs::rename(&tmp, &done).map_err(io(&done))?;
    let latest_tmp = root.join("latest.tmp");
    std::fs::write(&latest_tmp, &name).map_err(io(&latest_tmp))?;
    std::fs::rename(&latest_tmp, root.join(LATEST)).map_err(io(root.join(LATEST)))?;
    for entry in std::fs::read_dir(&root).map_err(io(&root))?.flatten() {
        let file_name = entry.file_name();
        let n = file_name.to_string_lossy();
        if n.starts_with("step-") && n != name {
            // An older checkpoint: no longer needed once `latest` names the new one.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(done)
}

/// A loaded checkpoint.
#[derive(Debug)]
pub struct Checkpoint {
    pub dir: PathBuf,
    pub weights: Weights,
    pub state: LoopState,
    optimizer: PathBuf,
}

impl Checkpoint {
    /// The regulariser's state saved with this checkpoint (empty for plain training).
    pub fn regulariser(&self) -> Result<RegulariserState> {
        let scalars_file = self.dir.join(REGULARISER_SCALARS);
        if !scalars_file.exists() {
            return Ok(RegulariserState::default());
        }
        let text = std::fs::read_to_string(&scalars_file).map_err(io(&scalars_file))?;
        let scalars = serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
            file: scalars_file.clone(),
            detail: e.to_string(),
        })?;
        Ok(RegulariserState {
            tensors: read_weights(&self.dir.join(REGULARISER_TENSORS))?,
            scalars,
        })
    }

    /// Restores the optimiser state into a freshly configured optimiser.
    pub fn optimizer(&self, fresh: ModuleOptimizer) -> Result<ModuleOptimizer> {
        fresh.load(&self.optimizer).map_err(|e| TrainError::Checkpoint {
            file: self.optimizer.clone(),
            detail: e.to_string(),
        })
    }
}

/// The checkpoint `latest` names, or `None` when the run has none yet.
pub fn load_latest(out: &Path) -> Result<Option<Checkpoint>> {
    let root = dir(out);
    let latest = root.join(LATEST);
    if !latest.exists() {
        return Ok(None);
    }
    let name = std::fs::read_to_string(&latest).map_err(io(&latest))?;
    let dir = root.join(name.trim());
    let state_file = dir.join("state.json");
    let text = std::fs::read_to_string(&state_file).map_err(io(&state_file))?;
    let state: LoopState = serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint {
        file: state_file.clone(),
        detail: e.to_string(),
    })?;
    Ok(Some(Checkpoint {
        weights: read_weights(&dir.join("weights.safetensors"))?,
        optimizer: dir.join("optimizer.bpk"),
        dir,
        state,
    }))
}
