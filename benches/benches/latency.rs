//! The latency model's prediction for a MiniLM-sized (6-layer) plan: what the search pays per
//! candidate once the plan's work is known. Lowering and packing the plan are timed apart.

use std::hint::black_box;

use canao_cpu::CpuRuntime;
use canao_interp::random::random_weights;
use canao_ir::builders::BertArch;
use canao_ir::{ReportsWork, Runtime, Schedule};
use canao_latency::{DeviceProfile, LatencyModel};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;

fn latency(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../device-profiles/host-intel-xeon-2c.ron");
    let profile = DeviceProfile::from_ron(&std::fs::read_to_string(path).unwrap(), path).unwrap();
    let model = LatencyModel::new(&profile, 0).unwrap();
    let g = BertArch::minilm(128).build().unwrap();
    let w = random_weights(&g, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
    let exe = CpuRuntime.prepare(&g, &w, &Schedule { threads: 1 }).unwrap();
    let work = exe.work();
    let mut group = c.benchmark_group("latency model");
    group.throughput(Throughput::Elements(1));
    group.bench_function("predict minilm plan (6 layers)", |b| {
        b.iter(|| model.predict(black_box(&work)).unwrap().total_ms)
    });
    group.finish();
    c.bench_function("lower and pack minilm (for comparison)", |b| {
        b.iter(|| CpuRuntime.prepare(black_box(&g), &w, &Schedule { threads: 1 }).unwrap())
    });
}

criterion_group!(benches, latency);
criterion_main!(benches);
