//! IR operations the search and the latency model run for every candidate: building a BERT
//! graph, running the pass pipeline, costing it, and printing/parsing its text form.

use std::hint::black_box;

use canao_ir::builders::BertArch;
use canao_ir::parse_graph;
use canao_ir::pass::Pipeline;
use criterion::{Criterion, criterion_group, criterion_main};

fn ir(c: &mut Criterion) {
    let arch = BertArch::minilm(128);
    c.bench_function("build minilm graph", |b| b.iter(|| black_box(&arch).build().unwrap()));
    let g = arch.build().unwrap();
    c.bench_function("pass pipeline on minilm", |b| {
        b.iter(|| {
            let mut g = g.clone();
            Pipeline::standard().run(&mut g).unwrap();
            g
        })
    });
    c.bench_function("cost of minilm graph", |b| b.iter(|| black_box(&g).cost()));
    let text = g.to_string();
    c.bench_function("parse minilm text form", |b| {
        b.iter(|| parse_graph(black_box(&text)).unwrap())
    });
}

criterion_group!(benches, ir);
criterion_main!(benches);
