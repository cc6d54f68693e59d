//! The per-kernel-class latency model: each step of a lowered plan costs a non-negative linear
//! combination of its work features (the IR's work schema, `canao_ir::StepWork`), with coefficients per kernel class.
//! Compute-bound terms scale with the DVFS level's frequency, memory-bound terms with bandwidth.

use std::collections::BTreeMap;

use canao_ir::{KernelClass, StepWork};
use serde::{Deserialize, Serialize};

use crate::error::{LatencyError, Result};
use crate::features::{NAMES, Row, memory_bound, rows};
use crate::measured::Statistic;
use crate::profile::{CostModel, DeviceProfile};

/// Coefficients of a fitted model, as stored in a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fitted {
    /// Threads the kernels ran on when the coefficients were obtained.
    pub threads: usize,
    /// Frequency (GHz) and memory bandwidth (GB/s) the coefficients hold at.
    pub reference_ghz: f64,
    pub reference_bandwidth_gbs: f64,
    /// Bytes of weights that stay in cache from one run to the next (beyond them, weights are
    /// charged as spilled).
    pub resident_bytes: f64,
    /// Kernel class (`linear/dense`, `attention`, ...) -> feature name -> nanoseconds per unit.
    pub classes: BTreeMap<KernelClass, BTreeMap<String, f64>>,
    /// End-to-end milliseconds of the anchor workload ([`crate::measured::ANCHOR`]: the dense
    /// MiniLM teacher at 128 tokens) measured during calibration. Measuring it again later tells
    /// how far the host's speed has drifted since (shared machines drift by tens of percent).
    #[serde(default)]
    pub anchor_ms: Option<f64>,
    /// How the calibration reduced each workload's rounds to one time; validation measures the
    /// same way, so predictions and measurements mean the same thing.
    #[serde(default)]
    pub statistic: Statistic,
    /// The raw calibration data (CSV, beside the profile), when the model was measured.
    #[serde(default)]
    pub calibration_csv: Option<String>,
    /// A whole graph's time over the sum of its steps' predictions, the median over the fitted
    /// workloads. A graph costs more than its steps timed one by one on some hosts (2-10 % on a
    /// Zen 3 EPYC, none on Zen 4): time between steps, and caches the step before cooled.
    #[serde(default = "one")]
    pub graph_scale: f64,
}

fn one() -> f64 {
    1.0
}

impl Fitted {
    /// Checks feature names and that every coefficient is finite and non-negative.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let field = |f: String, detail: String| LatencyError::Field {
            origin: origin.into(),
            field: f,
            detail,
        };
        let positive = |x: f64| x > 0.0;
        let finite_positive = |x: f64| x.is_finite() && x > 0.0;
        if self.threads == 0
            || !positive(self.reference_ghz)
            || !positive(self.reference_bandwidth_gbs)
            || !finite_positive(self.graph_scale)
        {
            return Err(field(
                "model".into(),
                "threads, reference_ghz, reference_bandwidth_gbs and graph_scale must be positive".into(),
            ));
        }
        for (class, coefs) in &self.classes {
            for (name, &v) in coefs {
                let at = format!("model.classes[\"{class}\"][\"{name}\"]");
                if !NAMES.contains(&name.as_str()) {
                    return Err(field(at, format!("unknown feature; known: {}", NAMES.join(", "))));
                }
                if !(v.is_finite() && v >= 0.0) {
                    return Err(field(at, format!("is {v}; coefficients are non-negative costs")));
                }
            }
        }
        Ok(())
    }
}

/// A profile's fitted model at one DVFS level: coefficients as dense arrays, already scaled to
/// the level, so a prediction is one dot product per step.
#[derive(Debug, Clone)]
pub struct LatencyModel {
    profile: String,
    classes: BTreeMap<KernelClass, Row>,
    resident_bytes: f64,
    /// Threads the coefficients were obtained on.
    threads: usize,
    graph_scale: f64,
}

/// Per-step and total predicted latency.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub steps_ms: Vec<f64>,
    pub total_ms: f64,
}

impl LatencyModel {
    /// The model of `profile` at DVFS level `level`.
    pub fn new(profile: &DeviceProfile, level: usize) -> Result<Self> {
        let CostModel::Fitted(fit) = &profile.model else {
            return Err(LatencyError::Model {
                profile: profile.name.clone(),
                kind: profile.model.kind(),
                wanted: "per-kernel prediction needs a fitted model (run `canao profile`)".into(),
            });
        };
        let l = profile.level(level)?;
        let compute = fit.reference_ghz / l.ghz;
        let memory = fit.reference_bandwidth_gbs / profile.memory.bandwidth_gbs;
        Ok(Self::from_classes(&profile.name, fit, compute, memory))
    }

    /// A model straight from coefficients (ns per unit), compute-bound terms multiplied by
    /// `compute` and memory-bound ones by `memory`.
    pub fn from_classes(profile: &str, fit: &Fitted, compute: f64, memory: f64) -> Self {
        let classes = fit
            .classes
            .iter()
            .map(|(class, coefs)| {
                let mut c: Row = [0.0; NAMES.len()];
                for (i, name) in NAMES.iter().enumerate() {
                    let scale = if memory_bound(i) { memory } else { compute };
                    c[i] = coefs.get(*name).copied().unwrap_or(0.0) * scale;
                }
                (*class, c)
            })
            .collect();
        Self {
            profile: profile.to_string(),
            classes,
            resident_bytes: fit.resident_bytes,
            threads: fit.threads,
            graph_scale: fit.graph_scale,
        }
    }

    /// Threads the prediction holds for.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Per-step predictions, each scaled by the profile's `graph_scale` so that they add up to
    /// the whole graph's.
    pub fn predict(&self, work: &[StepWork]) -> Result<Prediction> {
        let steps_ms = work
            .iter()
            .zip(rows(work, self.resident_bytes))
            .map(|(w, row)| {
                let c = self.classes.get(&w.class).ok_or_else(|| LatencyError::Class {
                    profile: self.profile.clone(),
                    class: w.class,
                })?;
                Ok(c.iter().zip(&row).map(|(a, b)| a * b).sum::<f64>() * self.graph_scale / 1e6)
            })
            .collect::<Result<Vec<f64>>>()?;
        Ok(Prediction {
            total_ms: steps_ms.iter().sum(),
            steps_ms,
        })
    }
}
