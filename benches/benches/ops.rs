//! The CPU backend's non-weight kernels at MiniLM shapes (128 tokens, width 384, 12 heads of
//! 32), plus convolution and graph propagation at LeNet and Cora sizes: layer norm, attention,
//! GELU, embedding lookup, im2col, CSR SpMM.

use std::hint::black_box;

use canao_cpu::Cx;
use canao_cpu::arena::Aligned;
use canao_cpu::kernels::{self, AttentionShape, Fm, Window};
use canao_ir::PoolKind;
use canao_tensor::Csr;
use criterion::{Criterion, criterion_group, criterion_main};

fn filled(n: usize) -> Aligned {
    let mut a = Aligned::zeros(n);
    a.as_mut_slice()
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = ((i * 7919) % 1000) as f32 / 500.0 - 1.0);
    a
}

fn ops(c: &mut Criterion) {
    let f = Fm {
        rows: 384,
        cols: 128,
        ld: 128,
    };
    let x = filled(384 * 128);
    let mut y = Aligned::zeros(384 * 128);
    let (g, b) = (vec![1.0f32; 384], vec![0.0f32; 384]);
    let mut scratch = Aligned::zeros(12 * AttentionShape::scratch_per_head(128, 128));
    c.bench_function("layer_norm 384x128", |bn| {
        bn.iter(|| kernels::layer_norm(x.as_slice(), f, &g, &b, 1e-12, y.as_mut_slice(), scratch.as_mut_slice()))
    });
    let mask = vec![1.0f32; 128];
    let shape = AttentionShape {
        heads: 12,
        head_dim: 32,
        alpha: 1.0 / 32f32.sqrt(),
    };
    c.bench_function("attention 12x32 heads, 128 tokens", |bn| {
        bn.iter(|| {
            let (q, k, v) = (x.as_slice(), x.as_slice(), x.as_slice());
            kernels::attention(
                q,
                k,
                v,
                &mask,
                f,
                shape,
                y.as_mut_slice(),
                scratch.as_mut_slice(),
                Cx::single(),
            )
        })
    });
    let mut wide = filled(1536 * 128);
    c.bench_function("gelu 1536x128", |bn| {
        bn.iter(|| {
            black_box(wide.as_mut_slice())
                .iter_mut()
                .for_each(|v| *v = kernels::math::gelu(*v))
        })
    });
    let table = filled(30522 * 384);
    let ids: Vec<f32> = (0..128).map(|i| ((i * 211) % 30522) as f32).collect();
    c.bench_function("embedding 128 ids x 384", |bn| {
        bn.iter(|| kernels::embedding(&ids, table.as_slice(), 384, y.as_mut_slice(), 128).unwrap())
    });
    let img = filled(6 * 28 * 28 * 8);
    let win = Window {
        n: 8,
        h: 28,
        w: 28,
        kh: 5,
        kw: 5,
        stride: 1,
        pad: 2,
        ho: 28,
        wo: 28,
    };
    let cols = canao_cpu::padded(8 * 28 * 28);
    let mut col = Aligned::zeros(6 * 25 * cols);
    c.bench_function("im2col 8x6x28x28, 5x5", |bn| {
        bn.iter(|| kernels::im2col(img.as_slice(), 6, 8 * 28 * 28, win, col.as_mut_slice(), cols))
    });
    let pool_win = Window {
        n: 8,
        h: 28,
        w: 28,
        kh: 2,
        kw: 2,
        stride: 2,
        pad: 0,
        ho: 14,
        wo: 14,
    };
    c.bench_function("max_pool 8x6x28x28", |bn| {
        bn.iter(|| {
            kernels::pool(
                img.as_slice(),
                6,
                8 * 28 * 28,
                pool_win,
                PoolKind::Max,
                col.as_mut_slice(),
                8 * 14 * 14,
            )
        })
    });
    // Cora-sized propagation: 2708 nodes, about 13k entries (edges both ways plus self loops).
    let n = 2708;
    let trip: Vec<(usize, usize, f32)> = (0..n)
        .flat_map(|r| [(r, r, 0.2), (r, (r * 31 + 7) % n, 0.2), (r, (r * 97 + 1) % n, 0.2)])
        .collect();
    let a = Csr::from_triplets(n, n, trip).unwrap();
    let hf = Fm {
        rows: 16,
        cols: n,
        ld: canao_cpu::padded(n),
    };
    let h = filled(16 * hf.ld);
    let mut out = Aligned::zeros(16 * hf.ld);
    c.bench_function("spmm cora-sized, 16 features", |bn| {
        bn.iter(|| kernels::spmm(&a, h.as_slice(), hf, out.as_mut_slice()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(1));
    targets = ops
}
criterion_main!(benches);
