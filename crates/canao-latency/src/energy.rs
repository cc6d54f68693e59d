//! Energy per run and runs per battery (ALGORITHMS.md §4): energy = power x time, and a level's
//! share of the battery buys floor(share x E / energy per run) runs.

use crate::error::{LatencyError, Result};
use crate::profile::DeviceProfile;

/// Joules one run of `latency_ms` costs at DVFS level `level`.
pub fn energy_per_run(profile: &DeviceProfile, level: usize, latency_ms: f64) -> Result<f64> {
    Ok(profile.level(level)?.watts() * latency_ms / 1e3)
}

/// Runs per battery at one level, with the inputs that produced it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelEnergy {
    pub watts: f64,
    pub joules_per_run: f64,
    pub runs: u64,
}

/// For each level, given that level's latency: the runs its share of the battery pays for.
pub fn runs_per_battery(profile: &DeviceProfile, latency_ms: &[f64]) -> Result<Vec<LevelEnergy>> {
    let battery = profile.battery.as_ref().ok_or_else(|| LatencyError::Model {
        profile: profile.name.clone(),
        kind: profile.model.kind(),
        wanted: "runs per battery need a `battery` block".into(),
    })?;
    if latency_ms.len() != profile.dvfs.len() {
        return Err(LatencyError::Level {
            profile: profile.name.clone(),
            level: latency_ms.len(),
            count: profile.dvfs.len(),
        });
    }
    latency_ms
        .iter()
        .enumerate()
        .map(|(i, &ms)| {
            let joules_per_run = energy_per_run(profile, i, ms)?;
            let budget = battery.joules * battery.shares[i];
            Ok(LevelEnergy {
                watts: profile.dvfs[i].watts(),
                joules_per_run,
                runs: (budget / joules_per_run).floor() as u64,
            })
        })
        .collect()
}
