//! Device profiles and the latency / energy models that read them.

mod energy;
mod error;
mod profile;
mod rt3;

pub use energy::{LevelEnergy, energy_per_run, runs_per_battery};
pub use error::{LatencyError, Result};
pub use profile::{
    ComputeUnit, CostModel, DeviceProfile, DvfsLevel, FORMAT_VERSION, Memory, Power, Provenance, Source,
};
pub use rt3::{OpCounts, count_ops, rt3_latency_ms};
