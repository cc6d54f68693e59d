//! The CPU backend. Activations are stored feature-major: a value the IR sees as [tokens,
//! features] (or [N, C, H, W]) is held as `features` rows of `positions` columns, each row padded
//! to a multiple of [`LANE_PAD`]. Every weight kernel then computes `Y[n, :] += w[n, k] * X[k, :]`
//! over a contiguous run of tokens, which is what lets sparse formats vectorise.

pub mod arena;
pub mod bench;
mod error;
mod exec;
mod isa;
pub mod kernels;
mod lower;
pub mod pack;
mod plan;
mod reconfig;
mod work;

pub use error::{CpuError, Result};
pub use exec::{CpuExe, CpuRuntime};
pub use isa::{ISA_ENV, Isa};
pub use kernels::Cx;
pub use pack::{PackedWeight, pack_weight};
pub use reconfig::Reconfigurable;

/// Activation rows are padded to a multiple of this many columns so kernels can work on whole
/// vector tiles; padding columns never feed real ones.
pub const LANE_PAD: usize = 16;

/// Rounds a column count up to the padded row width.
pub fn padded(cols: usize) -> usize {
    cols.div_ceil(LANE_PAD) * LANE_PAD
}
