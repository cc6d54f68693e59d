//! The model's features: the work schema's fields (`canao_ir::Work`, which every backend's plan
//! reports), plus one that depends on the device as well as the plan: the weight bytes that
//! cannot stay in cache between runs.

use canao_ir::{StepWork, Work};

/// Feature names: the work schema's, then `weight_bytes_spill`.
pub const NAMES: [&str; Work::NAMES.len() + 1] = {
    let mut n = [""; Work::NAMES.len() + 1];
    let mut i = 0;
    while i < Work::NAMES.len() {
        n[i] = Work::NAMES[i];
        i += 1;
    }
    n[Work::NAMES.len()] = "weight_bytes_spill";
    n
};

/// Which features scale with memory bandwidth (the others with the clock).
pub fn memory_bound(i: usize) -> bool {
    Work::MEMORY_BOUND.get(i).copied().unwrap_or(true)
}

pub type Row = [f64; NAMES.len()];

/// One row per step. A plan whose packed weights exceed `resident_bytes` (the cache that keeps
/// weights from one run to the next) streams the excess from further out on every run; each
/// weight step gets that share of its bytes as `weight_bytes_spill`.
pub fn rows(work: &[StepWork], resident_bytes: f64) -> Vec<Row> {
    let total: f64 = work.iter().map(|w| w.work.weight_bytes).sum();
    let spill = if total > resident_bytes {
        1.0 - resident_bytes / total
    } else {
        0.0
    };
    work.iter()
        .map(|w| {
            let mut r: Row = [0.0; NAMES.len()];
            r[..Work::NAMES.len()].copy_from_slice(&w.work.values());
            r[Work::NAMES.len()] = w.work.weight_bytes * spill;
            r
        })
        .collect()
}
