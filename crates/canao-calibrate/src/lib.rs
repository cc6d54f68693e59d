//! Calibrating a device profile on this host: the designed workloads are built with random
//! weights, run on the CPU backend in rounds and passes, and `canao-latency` fits its
//! per-kernel-class model to the times. This is the one crate where the latency model meets a
//! backend; the model itself reads only the IR's work schema.

mod timing;
mod workload;

use canao_latency::Result;
use canao_latency::calibrate::{Calibration, FitSettings, fit_calibration};

pub use timing::{Prepared, Timing, measure_all, measure_specs};
pub use workload::{Spec, Workload, anchor, calibration_set, random_student};

/// Workloads measured together (in turns); see [`measure_specs`].
pub const GROUP: usize = 10;

/// How to calibrate.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub quick: bool,
    pub threads: usize,
    /// How each workload is timed.
    pub timing: Timing,
    pub seed: u64,
    /// The host's clock and read bandwidth, which the coefficients hold at.
    pub ghz: f64,
    pub bandwidth_gbs: f64,
    /// Bytes of weights the host keeps in cache between runs (its L2).
    pub resident_bytes: f64,
}

/// Measures the designed set, fits on three quarters of it and checks on the rest.
/// `progress` hears what is being done.
pub fn calibrate(opts: &Options, progress: &mut dyn FnMut(&str)) -> Result<Calibration> {
    let specs = calibration_set(opts.quick, opts.seed);
    // Every group ends with the anchor workload: a shared host's speed drifts by tens of percent
    // over minutes, and the anchor's time in each group tells by how much, so every group is
    // brought to the median speed before fitting.
    let mut with_anchors = Vec::new();
    for chunk in specs.chunks(GROUP - 1) {
        with_anchors.extend(chunk.iter().cloned());
        with_anchors.push(anchor());
    }
    let raw = measure_specs(&with_anchors, opts.threads, opts.timing, GROUP, progress)?;
    let settings = FitSettings {
        threads: opts.threads,
        statistic: opts.timing.statistic,
        ghz: opts.ghz,
        bandwidth_gbs: opts.bandwidth_gbs,
        resident_bytes: opts.resident_bytes,
    };
    fit_calibration(&raw, &settings)
}

/// The instruction set the CPU backend's kernels run on in this process.
pub fn running_isa() -> String {
    canao_cpu::Isa::active()
        .unwrap_or_else(|_| canao_cpu::Isa::detect())
        .to_string()
}
