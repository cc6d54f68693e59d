//! RT3's reward of a choice of pattern sets, one per DVFS level (ALGORITHMS.md §4): a choice
//! that misses any level's timing limit scores -1 plus its runs term, untrained; one that meets
//! every limit is trained jointly and scores its normalised weighted accuracy plus the runs term,
//! less a penalty when accuracy does not fall from the fastest level to the slowest.

use crate::energy::runs_per_battery;
use crate::error::{LatencyError, Result};
use crate::profile::DeviceProfile;

/// The reward's constants; [`Rt3Reward::original`] gives RT3's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rt3Reward {
    /// Weighted accuracy mapped to 0..1 over this range.
    pub accuracy_range: [f64; 2],
    /// Runs per battery (summed over the levels) mapped to 0..1 over this range.
    pub runs_range: [f64; 2],
    /// Each level's weight in the accuracy (and its loss weight in joint training).
    pub level_weights: Vec<f64>,
    pub non_monotonic_penalty: f64,
    /// The score of a choice that misses a limit, before its runs term.
    pub missed_limit: f64,
}

/// A choice's reward with what it was made of.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rt3Score {
    pub reward: f64,
    pub meets_limits: bool,
    /// Runs per battery summed over the levels.
    pub runs: u64,
    pub weighted_accuracy: Option<f64>,
    pub monotonic: Option<bool>,
}

impl Rt3Reward {
    /// RT3's public code: accuracy over 0.85..0.9745, runs over 2.3e6..4.5e6, levels weighted
    /// 0.5 / 0.3 / 0.2, 0.5 off for non-monotonic accuracy, -1 for a missed limit.
    pub fn original() -> Self {
        Self {
            accuracy_range: [0.85, 0.9745],
            runs_range: [2.3e6, 4.5e6],
            level_weights: vec![0.5, 0.3, 0.2],
            non_monotonic_penalty: 0.5,
            missed_limit: -1.0,
        }
    }

    /// Whether each level's latency is within that level's limit (a level without one has none).
    pub fn meets_limits(profile: &DeviceProfile, latency_ms: &[f64]) -> bool {
        profile
            .dvfs
            .iter()
            .zip(latency_ms)
            .all(|(level, &ms)| level.limit_ms.is_none_or(|limit| ms <= limit))
    }

    /// The reward of a choice whose level `i` runs in `latency_ms[i]`; `accuracy` (per level,
    /// after joint training) is needed only when the choice meets every limit.
    pub fn score(&self, profile: &DeviceProfile, latency_ms: &[f64], accuracy: Option<&[f64]>) -> Result<Rt3Score> {
        let levels = profile.dvfs.len();
        if self.level_weights.len() != levels {
            return Err(self.mismatch(profile, "level_weights", self.level_weights.len()));
        }
        let runs: u64 = runs_per_battery(profile, latency_ms)?.iter().map(|l| l.runs).sum();
        let runs_term = (runs as f64 - self.runs_range[0]) / (self.runs_range[1] - self.runs_range[0]);
        if !Self::meets_limits(profile, latency_ms) {
            return Ok(Rt3Score {
                reward: self.missed_limit + runs_term,
                meets_limits: false,
                runs,
                weighted_accuracy: None,
                monotonic: None,
            });
        }
        let accuracy = accuracy.ok_or_else(|| LatencyError::Model {
            profile: profile.name.clone(),
            kind: profile.model.kind(),
            wanted: "a choice meeting every limit is scored on its accuracy per level after joint training".into(),
        })?;
        if accuracy.len() != levels {
            return Err(self.mismatch(profile, "accuracy", accuracy.len()));
        }
        let weighted: f64 = accuracy.iter().zip(&self.level_weights).map(|(a, w)| a * w).sum();
        let monotonic = accuracy.windows(2).all(|w| w[1] <= w[0]);
        let accuracy_term = (weighted - self.accuracy_range[0]) / (self.accuracy_range[1] - self.accuracy_range[0]);
        Ok(Rt3Score {
            reward: accuracy_term + runs_term - if monotonic { 0.0 } else { self.non_monotonic_penalty },
            meets_limits: true,
            runs,
            weighted_accuracy: Some(weighted),
            monotonic: Some(monotonic),
        })
    }

    fn mismatch(&self, profile: &DeviceProfile, what: &str, got: usize) -> LatencyError {
        LatencyError::Model {
            profile: profile.name.clone(),
            kind: profile.model.kind(),
            wanted: format!(
                "RT3's reward needs one {what} entry per DVFS level ({}), got {got}",
                profile.dvfs.len()
            ),
        }
    }
}
