//! Device profiles and the latency / energy models that read them. The models read the IR's work
//! schema only; any backend whose prepared graphs report it (`canao_ir::ReportsWork`) can be
//! predicted, and calibrating one (timing a backend) is `canao-calibrate`'s.

mod builtin;
pub mod calibrate;
mod dvfs_trace;
mod energy;
mod error;
mod features;
mod fitted;
mod host;
pub mod measured;
mod nnls;
mod predictor;
mod profile;
mod profile_check;
mod rt3;
mod rt3_reward;

pub use builtin::BUILTIN_PROFILES;
pub use dvfs_trace::{Event, Replay, Runs, Trace, replay};
pub use energy::{LevelEnergy, energy_per_run, runs_per_battery};
pub use error::{LatencyError, Result};
pub use features::NAMES as FEATURE_NAMES;
pub use fitted::{Fitted, LatencyModel, Prediction};
pub use host::{Host, HostFit, cpu_id, cpu_model, host_fit, today};
pub use predictor::{PlanPredictor, fitted_per_level, latency_per_level};
pub use profile::{
    Battery, ComputeUnit, CostModel, DeviceProfile, DvfsLevel, FORMAT_VERSION, Memory, Power, Provenance, Source,
};
pub use rt3::{OpCounts, count_ops, rt3_latency_ms};
pub use rt3_reward::{Rt3Reward, Rt3Score};
