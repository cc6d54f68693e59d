use serde::{Deserialize, Serialize};

use crate::error::{LatencyError, Result};
use crate::fitted::Fitted;

/// The profile format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A device: what it computes with, its frequency levels, memory, the cost model fitted or
/// taken for it, and where every figure came from. Read from RON; unknown fields are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfile {
    pub version: u32,
    pub name: String,
    pub units: Vec<ComputeUnit>,
    /// Frequency levels, fastest first.
    pub dvfs: Vec<DvfsLevel>,
    pub memory: Memory,
    pub model: CostModel,
    /// Battery energy in joules, and the share of it each DVFS level may spend (sums to 1).
    #[serde(default)]
    pub battery: Option<Battery>,
    /// For every figure above: how it was obtained.
    pub provenance: Vec<Provenance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ComputeUnit {
    CpuCluster {
        name: String,
        cores: usize,
        max_ghz: f64,
        /// The unit's frequency table, where known.
        #[serde(default)]
        levels_ghz: Vec<f64>,
    },
    Gpu {
        name: String,
        max_ghz: f64,
        #[serde(default)]
        levels_ghz: Vec<f64>,
        /// Peak single-precision GFLOP/s, where published.
        #[serde(default)]
        peak_gflops: Option<f64>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DvfsLevel {
    pub name: String,
    pub ghz: f64,
    /// Supply voltage, where known (needed by `Power::Switched`).
    #[serde(default)]
    pub volts: Option<f64>,
    pub power: Power,
    /// Latency limit at this level, in milliseconds, when the profile sets one (RT3 does).
    #[serde(default)]
    pub limit_ms: Option<f64>,
}

/// How much power a level draws while computing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Power {
    /// Dynamic power C V^2 f from a switched capacitance in nanofarads, plus static watts.
    Switched { nanofarads: f64, static_watts: f64 },
    /// A measured or published figure in watts.
    Watts(f64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    pub bandwidth_gbs: f64,
    pub caches_kib: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Battery {
    pub joules: f64,
    /// One share per DVFS level, in the levels' order.
    pub shares: Vec<f64>,
}

/// How latency is computed for this device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum CostModel {
    /// RT3's analytic model: milliseconds per 10,000 multiplies and per 10,000 adds at
    /// `reference_ghz`, scaled by reference_ghz / f at other frequencies.
    Analytic {
        ms_per_10k_mul: f64,
        ms_per_10k_add: f64,
        reference_ghz: f64,
    },
    /// Per-kernel-class coefficients over the CPU backend's lowered plan (`canao profile`, or
    /// derived from published figures).
    Fitted(Fitted),
}

impl CostModel {
    pub fn kind(&self) -> &'static str {
        match self {
            CostModel::Analytic { .. } => "analytic",
            CostModel::Fitted(_) => "fitted",
        }
    }
}

/// Where one figure of the profile came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Which figure (a field path such as `dvfs[0].volts`, or `model`).
    pub figure: String,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Source {
    /// Measured by `canao profile` on this host, on this date: the CPU model and the instruction
    /// set the kernels ran on say whose figures they are (profiles made before these were
    /// recorded lack them).
    Measured {
        host: String,
        date: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        isa: Option<String>,
    },
    /// Computed from other figures (a host's fit, published peaks), not measured on the device
    /// itself: what it was derived from, and how.
    Derived { from: String, method: String },
    /// Taken from a public source, not measured by canao.
    Published { citation: String },
    /// Neither measured nor published: an assumption, and why it was needed.
    Assumed { reason: String },
}

impl Source {
    /// The kind of source, in one word.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Measured { .. } => "measured",
            Source::Derived { .. } => "derived",
            Source::Published { .. } => "published",
            Source::Assumed { .. } => "assumed",
        }
    }

    /// One line saying where the figure comes from.
    pub fn describe(&self) -> String {
        match self {
            Source::Measured { host, date, cpu, isa } => {
                let on = [cpu.as_deref(), isa.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>();
                format!("measured by `canao profile` on {host} ({date}) {}", on.join(", "))
            }
            Source::Derived { from, .. } => format!("derived, not measured on the device: from {from}"),
            Source::Published { citation } => format!("published: {citation}"),
            Source::Assumed { reason } => format!("assumed: {reason}"),
        }
    }
}

impl DeviceProfile {
    /// Where the cost model's coefficients come from (the provenance of `model` or
    /// `model.classes`).
    pub fn model_source(&self) -> Option<&Source> {
        self.provenance
            .iter()
            .find(|p| p.figure == "model" || p.figure == "model.classes")
            .map(|p| &p.source)
    }

    /// Parses and checks a profile; `origin` (a file name) labels errors, which carry the line
    /// and column for syntax and unknown fields.
    pub fn from_ron(text: &str, origin: &str) -> Result<Self> {
        let p: DeviceProfile = ron::from_str(text).map_err(|e| LatencyError::Ron {
            origin: origin.into(),
            detail: e.to_string(),
        })?;
        p.validate(origin)?;
        Ok(p)
    }

    pub fn to_ron(&self) -> String {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default()).expect("profiles always serialise")
    }

    pub fn level(&self, level: usize) -> Result<&DvfsLevel> {
        self.dvfs.get(level).ok_or(LatencyError::Level {
            profile: self.name.clone(),
            level,
            count: self.dvfs.len(),
        })
    }
}

impl DvfsLevel {
    /// Watts drawn while computing at this level.
    pub fn watts(&self) -> f64 {
        match self.power {
            Power::Switched {
                nanofarads,
                static_watts,
            } => {
                let v = self.volts.unwrap_or(0.0);
                nanofarads * 1e-9 * v * v * self.ghz * 1e9 + static_watts
            }
            Power::Watts(w) => w,
        }
    }
}
