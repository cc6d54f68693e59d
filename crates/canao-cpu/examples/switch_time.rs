//! RT3's switch on a MiniLM-shaped encoder (6 layers, hidden 384, FFN 1536, 128 tokens; random
//! weights: the switch moves packed sets and never reads them): a pattern set per DVFS level
//! drawn from the weights (b = 16, 4 candidates per layer at 50 / 75 / 87 % sparsity), the time
//! of `switch` (median of many), and the packed bytes each level holds against the dense model.
//!
//! cargo run -p canao-cpu --example switch_time

use std::time::Instant;

use canao_compress::{CandidateConfig, with_pattern_sets};
use canao_cpu::{CpuRuntime, Isa, Reconfigurable};
use canao_interp::random::random_weights;
use canao_ir::builders::BertArch;
use canao_ir::{Graph, Schedule, Weights};
use rand::SeedableRng;

/// Every encoder weight under its 4 candidates at `sparsity`, in 16 x 16 tiles.
fn level(base: &Graph, w: &Weights, sparsity: f64) -> Graph {
    let config = CandidateConfig {
        block: 16,
        blocks: 10,
        draws: 16,
        maps: 4,
        seed: 1,
    };
    with_pattern_sets(base, w, &config, sparsity, |n| {
        n.starts_with("enc") && n.ends_with(".w")
    })
    .expect("pattern sets")
}

fn main() {
    let base = BertArch::minilm(128).build().expect("MiniLM's shape builds");
    let w = random_weights(&base, &mut rand_chacha::ChaCha8Rng::seed_from_u64(7));
    let levels: Vec<Graph> = [0.5, 0.75, 0.87].iter().map(|&s| level(&base, &w, s)).collect();
    let isa = Isa::active().expect("an instruction set");
    let start = Instant::now();
    let mut model = Reconfigurable::prepare(&levels, &w, &Schedule { threads: 1 }, isa).expect("prepared");
    let prepare_s = start.elapsed().as_secs_f64();
    let dense = CpuRuntime
        .prepare_isa(&base, &w, &Schedule { threads: 1 }, isa)
        .expect("dense prepared")
        .packed_bytes()
        .values()
        .sum::<usize>();
    let mut times: Vec<f64> = (0..30_000)
        .map(|i| {
            let t = Instant::now();
            model.switch(i % 3).expect("a level in range");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let report = serde_json::json!({
        "isa": isa.to_string(),
        "levels_sparsity": [0.5, 0.75, 0.87],
        "prepare_s": prepare_s,
        "switch_us_median": times[times.len() / 2],
        "switch_us_p99": times[times.len() * 99 / 100],
        "switch_us_max": times[times.len() - 1],
        "packed_bytes_per_level": model.packed_bytes(),
        "dense_packed_bytes": dense,
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
}
