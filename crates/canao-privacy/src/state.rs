//! A federated run's checkpoint, written after every round: each arm's model, every client's
//! residual and the last genuine upload, plus the round log. It is written whole into
//! `state.next/` and swapped in by renames, so a run killed at any point resumes from the last
//! finished round, and (all randomness being drawn per round and client from the seed) ends
//! where an uninterrupted run does.

use std::path::{Path, PathBuf};

use canao_ir::Weights;
use canao_train::checkpoint::{read_weights, write_weights};
use serde::{Deserialize, Serialize};

use crate::enclave::Enclave;
use crate::error::{PrivacyError, Result, io};
use crate::federation::{Arm, ArmState, Federation, RoundRecord};

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    next_round: u32,
    records: Vec<RoundRecord>,
    arms: Vec<SavedArm>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedArm {
    arm: Arm,
    last_upload_client: Option<u32>,
}

/// A run restored from its checkpoint.
#[derive(Debug)]
pub struct Restored {
    pub next_round: u32,
    pub records: Vec<RoundRecord>,
    pub arms: Vec<ArmState>,
}

fn corrupt(file: &Path, detail: impl Into<String>) -> PrivacyError {
    PrivacyError::Corrupt {
        file: file.to_path_buf(),
        detail: detail.into(),
    }
}

fn tensors_file(dir: &Path, arm: Arm) -> PathBuf {
    dir.join(format!("{}.safetensors", arm.name()))
}

fn upload_file(dir: &Path, arm: Arm) -> PathBuf {
    dir.join(format!("{}-last-upload.bin", arm.name()))
}

/// Saves the run after round `next_round - 1`.
pub fn save(
    out: &Path,
    fed: &Federation<'_>,
    next_round: u32,
    records: &[RoundRecord],
    arms: &[ArmState],
) -> Result<()> {
    let next = out.join("state.next");
    if next.exists() {
        std::fs::remove_dir_all(&next).map_err(io(&next))?;
    }
    std::fs::create_dir_all(&next).map_err(io(&next))?;
    for a in arms {
        let mut w = Weights::new();
        let model = fed.layout.flatten(a.enclave.model())?;
        put(&mut w, "model", fed, &model)?;
        for (c, fb) in a.feedback.iter().enumerate() {
            put(&mut w, &format!("residual/{c}"), fed, &fb.residual)?;
        }
        write_weights(&tensors_file(&next, a.arm), &w)?;
        if let Some((_, bytes)) = &a.last_upload {
            let f = upload_file(&next, a.arm);
            std::fs::write(&f, bytes).map_err(io(&f))?;
        }
    }
    let saved = Saved {
        next_round,
        records: records.to_vec(),
        arms: arms
            .iter()
            .map(|a| SavedArm {
                arm: a.arm,
                last_upload_client: a.last_upload.as_ref().map(|(c, _)| *c),
            })
            .collect(),
    };
    let f = next.join("state.json");
    let text = serde_json::to_vec_pretty(&saved).expect("the state serialises");
    std::fs::write(&f, text).map_err(io(&f))?;
    swap_in(out, &next)
}

fn put(w: &mut Weights, prefix: &str, fed: &Federation<'_>, flat: &[Vec<f32>]) -> Result<()> {
    for ((name, shape), data) in fed.layout.tensors.iter().zip(flat) {
        w.insert_dense(
            format!("{prefix}/{name}"),
            canao_tensor::Tensor::new(shape.clone(), data.clone())?,
        );
    }
    Ok(())
}

/// `state.next` becomes `state`; the previous one is kept as `state.old` until then.
fn swap_in(out: &Path, next: &Path) -> Result<()> {
    let (cur, old) = (out.join("state"), out.join("state.old"));
    if cur.exists() {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        std::fs::rename(&cur, &old).map_err(io(&cur))?;
    }
    std::fs::rename(next, &cur).map_err(io(&cur))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// The last saved state of the run in `out`, if any (a run killed between the two renames of
/// a save has only `state.old`).
pub fn load(out: &Path, fed: &Federation<'_>) -> Result<Option<Restored>> {
    let dir = [out.join("state"), out.join("state.old")]
        .into_iter()
        .find(|d| d.is_dir());
    let Some(dir) = dir else { return Ok(None) };
    let f = dir.join("state.json");
    let text = std::fs::read(&f).map_err(io(&f))?;
    let saved: Saved = serde_json::from_slice(&text).map_err(|e| corrupt(&f, e.to_string()))?;
    let want = fed.config.arms();
    if saved.arms.iter().map(|a| a.arm).ne(want.iter().copied()) {
        return Err(corrupt(
            &f,
            format!("holds arms {:?}, this run has {want:?}", saved.arms),
        ));
    }
    let arms = saved
        .arms
        .iter()
        .map(|a| restore_arm(&dir, fed, a))
        .collect::<Result<_>>()?;
    Ok(Some(Restored {
        next_round: saved.next_round,
        records: saved.records,
        arms,
    }))
}

fn restore_arm(dir: &Path, fed: &Federation<'_>, saved: &SavedArm) -> Result<ArmState> {
    let file = tensors_file(dir, saved.arm);
    let w = read_weights(&file)?;
    let take = |prefix: &str| -> Result<Vec<Vec<f32>>> {
        fed.layout
            .tensors
            .iter()
            .map(|(name, shape)| {
                let t = w
                    .dense(&format!("{prefix}/{name}"))
                    .map_err(|_| corrupt(&file, format!("has no tensor {prefix}/{name}")))?;
                if t.shape() != shape.as_slice() {
                    return Err(corrupt(
                        &file,
                        format!("{prefix}/{name} is {:?}, not {shape:?}", t.shape()),
                    ));
                }
                Ok(t.data().to_vec())
            })
            .collect()
    };
    let model = fed.layout.weights(&take("model")?)?;
    let mut state = fed.fresh(saved.arm, &model)?;
    for (c, fb) in state.feedback.iter_mut().enumerate() {
        fb.residual = take(&format!("residual/{c}"))?;
    }
    if let Some(c) = saved.last_upload_client {
        let f = upload_file(dir, saved.arm);
        state.last_upload = Some((c, std::fs::read(&f).map_err(io(&f))?));
    }
    Ok(state)
}
