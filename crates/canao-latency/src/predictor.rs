//! A fitted model bound to a backend: the latency and energy of a graph on a device, predicted
//! from the plan the backend would run for it. Generic over the backend, so whoever holds one
//! (the search, the CLI) never names a backend crate.

use canao_ir::{Graph, ReportsWork, Runtime, Schedule, StepWork, Weights};

use crate::energy::energy_per_run;
use crate::error::{LatencyError, Result};
use crate::fitted::{LatencyModel, Prediction};
use crate::profile::{CostModel, DeviceProfile};
use crate::rt3::{count_ops, rt3_latency_ms};

/// Predicts graphs on `profile` at DVFS level `level` through `runtime`'s plans.
#[derive(Debug, Clone)]
pub struct PlanPredictor<R> {
    runtime: R,
    profile: DeviceProfile,
    level: usize,
    model: LatencyModel,
}

impl<R> PlanPredictor<R>
where
    R: Runtime,
    R::Exe: ReportsWork,
{
    /// Refuses a profile without a fitted model or without `level`.
    pub fn new(runtime: R, profile: DeviceProfile, level: usize) -> Result<Self> {
        let model = LatencyModel::new(&profile, level)?;
        Ok(Self {
            runtime,
            profile,
            level,
            model,
        })
    }

    pub fn runtime(&self) -> &R {
        &self.runtime
    }

    pub fn profile(&self) -> &DeviceProfile {
        &self.profile
    }

    pub fn level(&self) -> usize {
        self.level
    }

    /// The fitted model at the predictor's level.
    pub fn model(&self) -> &LatencyModel {
        &self.model
    }

    /// Threads the profile's coefficients were obtained on, and plans are prepared for.
    pub fn threads(&self) -> usize {
        self.model.threads()
    }

    /// The backend's executable of `graph`, prepared for the profile's threads.
    pub fn prepare(&self, graph: &Graph, weights: &Weights) -> Result<R::Exe> {
        let schedule = Schedule {
            threads: self.threads(),
        };
        self.runtime
            .prepare(graph, weights, &schedule)
            .map_err(|e| LatencyError::Backend(Box::new(e)))
    }

    /// Per-step and total latency of an executable this predictor prepared.
    pub fn predict_exe(&self, exe: &R::Exe) -> Result<Prediction> {
        self.model.predict(&exe.work())
    }

    /// Per-step and total latency of `graph`.
    pub fn predict(&self, graph: &Graph, weights: &Weights) -> Result<Prediction> {
        self.predict_exe(&self.prepare(graph, weights)?)
    }

    /// Millijoules of one run that takes `latency_ms` at the predictor's level.
    pub fn energy_mj(&self, latency_ms: f64) -> Result<f64> {
        Ok(energy_per_run(&self.profile, self.level, latency_ms)? * 1e3)
    }
}

/// One run's latency of `graph` at each of `profile`'s DVFS levels, in ms: RT3's analytic count
/// for an analytic profile, else the fitted model on `runtime`'s plan (prepared once: a plan's
/// work does not depend on the level).
pub fn latency_per_level<R>(runtime: R, profile: &DeviceProfile, graph: &Graph, weights: &Weights) -> Result<Vec<f64>>
where
    R: Runtime,
    R::Exe: ReportsWork,
{
    if matches!(profile.model, CostModel::Analytic { .. }) {
        let counts = count_ops(graph);
        return (0..profile.dvfs.len())
            .map(|l| rt3_latency_ms(profile, counts, l))
            .collect();
    }
    let predictor = PlanPredictor::new(runtime, profile.clone(), 0)?;
    fitted_per_level(profile, &predictor.prepare(graph, weights)?.work())
}

/// One run's latency of a plan's `work` at each of `profile`'s DVFS levels, in ms, by its fitted
/// model.
pub fn fitted_per_level(profile: &DeviceProfile, work: &[StepWork]) -> Result<Vec<f64>> {
    (0..profile.dvfs.len())
        .map(|l| Ok(LatencyModel::new(profile, l)?.predict(work)?.total_ms))
        .collect()
}
