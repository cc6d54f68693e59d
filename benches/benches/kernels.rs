//! Every CPU weight kernel at BERT shapes (128 tokens), one thread: the same suite as
//! `canao bench kernels`, under criterion's statistics. Compare each group's members against its
//! `dense` member, measured in the same run.

use canao_cpu::bench::{Prepared, suite};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn kernels(c: &mut Criterion) {
    let cases = suite();
    for (k, n) in canao_cpu::bench::SHAPES {
        let mut group = c.benchmark_group(format!("weight {k}x{n} m128"));
        group.throughput(Throughput::Elements((2 * 128 * k * n) as u64));
        for (i, case) in cases.iter().enumerate().filter(|(_, c)| (c.k, c.n) == (k, n)) {
            let mut p = Prepared::new(case, i as u64);
            let id = format!(
                "{} {}x{} d{:.2}",
                case.kernel, case.block[0], case.block[1], case.density
            );
            group.bench_function(id, |b| b.iter(|| p.run(canao_cpu::Cx::single())));
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(1));
    targets = kernels
}
criterion_main!(benches);
