//! A WGSL plan reports its work in the IR's schema, and counts what the CPU plan counts where
//! both compute the same products: the latency model can read either backend.

use canao_cpu::CpuRuntime;
use canao_interp::random::random_weights;
use canao_ir::builders::{BertArch, BertLayer, LeNetArch, LinearArch};
use canao_ir::{
    Activation, BitMask, Graph, KernelClass, ReportsWork, Runtime, Schedule, Sparsity, StepWork, WeightFormat,
};
use canao_wgsl::lower;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn both(g: &Graph) -> (Vec<StepWork>, Vec<StepWork>) {
    let w = random_weights(g, &mut ChaCha8Rng::seed_from_u64(3));
    let gpu = lower(g, &w).unwrap().work();
    let cpu = CpuRuntime.prepare(g, &w, &Schedule { threads: 1 }).unwrap().work();
    (gpu, cpu)
}

fn macs(work: &[StepWork], class: Option<KernelClass>) -> f64 {
    work.iter()
        .filter(|s| class.is_none_or(|c| s.class == c))
        .map(|s| s.work.macs + s.work.macs_h4 + s.work.macs_h1)
        .sum()
}

fn linear(tokens: usize, input: usize, output: usize, sparsity: Sparsity) -> Graph {
    let mut g = LinearArch {
        tokens,
        input,
        output,
        bias: true,
        act: Activation::Gelu,
    }
    .build()
    .unwrap();
    g.set_sparsity("fc.w", sparsity).unwrap();
    g
}

#[test]
fn a_bert_plan_counts_the_cpu_plans_multiply_accumulates() {
    // 12 tokens of 2 layers with 4 heads: a row of scores fits in workgroup memory, so WGSL
    // fuses attention as the CPU does.
    let arch = BertArch {
        vocab: 40,
        seq: 12,
        layers: vec![
            BertLayer {
                hidden: 64,
                heads: 4,
                ffn: 96
            };
            2
        ],
        ..BertArch::minilm(12)
    };
    let (gpu, cpu) = both(&arch.build().unwrap());
    assert_eq!(gpu.last().unwrap().class, KernelClass::Io);
    let dense = Some(KernelClass::Linear(WeightFormat::Dense));
    assert_eq!(macs(&gpu, dense), macs(&cpu, dense));
    let attention = Some(KernelClass::Attention);
    assert_eq!(macs(&gpu, attention), macs(&cpu, attention));
    assert!(macs(&gpu, attention) > 0.0);
    assert_eq!(macs(&gpu, None), macs(&cpu, None));
    // Every linear layer's weights are read once per run on both.
    let weights = |w: &[StepWork]| -> f64 {
        w.iter()
            .filter(|s| s.class == KernelClass::Linear(WeightFormat::Dense))
            .map(|s| s.work.weight_bytes)
            .sum()
    };
    assert!(weights(&gpu) >= weights(&cpu) && weights(&gpu) > 0.0);
}

#[test]
fn sparse_weights_count_their_kept_entries_on_both_backends() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // 37 x 45 in 8 x 8 blocks: both edges clipped.
    let grid = 37usize.div_ceil(8) * 45usize.div_ceil(8);
    let mask = BitMask((0..grid).map(|_| rng.random_bool(0.5)).collect());
    let block = Sparsity::Block { block: [8, 8], mask };
    let kept = block.nnz(&[37, 45]) as f64;
    let (gpu, cpu) = both(&linear(9, 45, 37, block));
    assert_eq!(macs(&gpu, None), 9.0 * kept);
    assert_eq!(macs(&cpu, None), 9.0 * kept);

    // Patterns over 4 x 4 tiles, edge tiles clipped: the WGSL kernel's count is the IR's.
    let patterns: Vec<BitMask> = (0..3)
        .map(|_| BitMask((0..16).map(|_| rng.random_bool(0.4)).collect()))
        .collect();
    let tiles = 37usize.div_ceil(4) * 45usize.div_ceil(4);
    let assign = (0..tiles).map(|_| rng.random_range(0..3u16)).collect();
    let pattern = Sparsity::Pattern {
        block: [4, 4],
        patterns,
        assign,
    };
    let kept = pattern.nnz(&[37, 45]) as f64;
    let (gpu, _) = both(&linear(9, 45, 37, pattern));
    assert_eq!(macs(&gpu, None), 9.0 * kept);

    // Circulant at sizes the block divides: the three WGSL kernels count the CPU's FFT route.
    let (gpu, cpu) = both(&linear(5, 32, 48, Sparsity::Circulant { block: 8 }));
    let circulant = Some(KernelClass::Linear(WeightFormat::Circulant));
    assert_eq!(gpu.iter().filter(|s| Some(s.class) == circulant).count(), 3);
    assert_eq!(macs(&gpu, circulant), macs(&cpu, circulant));
    // GELU in the epilogue: one erf per output on both.
    let erf = |w: &[StepWork]| -> f64 { w.iter().map(|s| s.work.transcendentals).sum() };
    assert_eq!(erf(&gpu), 5.0 * 48.0);
}

#[test]
fn a_cnn_plan_is_classed_step_by_step() {
    let g = LeNetArch::default().build().unwrap();
    let (gpu, _) = both(&g);
    let conv = gpu
        .iter()
        .filter(|s| s.class == KernelClass::Conv(WeightFormat::Dense))
        .count();
    assert_eq!(conv, 2);
    assert_eq!(gpu.iter().filter(|s| s.class == KernelClass::Pool).count(), 2);
    for s in &gpu[..gpu.len() - 1] {
        assert_eq!(s.work.calls, 1.0);
        assert!(s.work.elements > 0.0 && s.work.act_bytes > 0.0, "{s:?}");
    }
    // The first convolution: 6 kernels of 1 x 5 x 5 over 28 x 28 positions.
    let first = gpu
        .iter()
        .find(|s| s.class == KernelClass::Conv(WeightFormat::Dense))
        .unwrap();
    assert_eq!(first.work.macs, (6 * 28 * 28 * 25) as f64);
}
