//! The model's features: the CPU backend's per-step work counts, plus one that depends on the
//! device as well as the plan: the weight bytes that cannot stay in cache between runs.

use canao_cpu::{FEATURES, MEMORY_BOUND, StepWork};

/// Feature names: canao-cpu's, then `weight_bytes_spill`.
pub const NAMES: [&str; FEATURES.len() + 1] = {
    let mut n = [""; FEATURES.len() + 1];
    let mut i = 0;
    while i < FEATURES.len() {
        n[i] = FEATURES[i];
        i += 1;
    }
    n[FEATURES.len()] = "weight_bytes_spill";
    n
};

/// Which features scale with memory bandwidth (the others with the clock).
pub fn memory_bound(i: usize) -> bool {
    MEMORY_BOUND.get(i).copied().unwrap_or(true)
}

pub type Row = [f64; NAMES.len()];

const WEIGHT_BYTES: usize = 6;

/// One row per step. A plan whose packed weights exceed `resident_bytes` (the cache that keeps
/// weights from one run to the next) streams the excess from further out on every run; each
/// weight step gets that share of its bytes as `weight_bytes_spill`.
pub fn rows(work: &[StepWork], resident_bytes: f64) -> Vec<Row> {
    debug_assert_eq!(FEATURES[WEIGHT_BYTES], "weight_bytes");
    let total: f64 = work.iter().map(|w| w.features[WEIGHT_BYTES]).sum();
    let spill = if total > resident_bytes {
        1.0 - resident_bytes / total
    } else {
        0.0
    };
    work.iter()
        .map(|w| {
            let mut r: Row = [0.0; NAMES.len()];
            r[..FEATURES.len()].copy_from_slice(&w.features);
            r[FEATURES.len()] = w.features[WEIGHT_BYTES] * spill;
            r
        })
        .collect()
}
