//! The convolutional kernels (conv2d dense, with kernel patterns and over projected weights;
//! max and average pooling; flatten) run on whatever wgpu adapter exists (Mesa's lavapipe on CI)
//! against the reference interpreter, on odd shapes, strides and paddings. With no adapter each
//! test prints `SKIP: no wgpu adapter` and returns.
#![cfg(feature = "wgpu")]

mod common;

use canao_interp::random::{random_inputs, random_weights};
use canao_ir::builders::LeNetArch;
use canao_ir::{BitMask, Graph, Op, ParamSpec, PoolKind, Sparsity, TensorType};
use common::{check, runtime};
use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A graph of one op on an input `x` [n, c, h, w].
fn single(x: [usize; 4], op: impl FnOnce(&mut Graph) -> Op) -> Graph {
    let mut g = Graph::new("single");
    let input = g
        .add(
            Op::Input {
                name: "x".into(),
                ty: TensorType::f32(x.to_vec()),
            },
            &[],
        )
        .unwrap();
    let op = op(&mut g);
    let y = g.add(op, &[input]).unwrap();
    g.set_outputs(vec![y]).unwrap();
    g
}

/// One conv2d of `out` channels with a k x k kernel on x.
fn conv_graph(x: [usize; 4], out: usize, k: usize, stride: usize, padding: usize, bias: bool) -> Graph {
    single(x, |g| Op::Conv2d {
        weight: g.add_param("conv.w", ParamSpec::dense(vec![out, x[1], k, k])).unwrap(),
        bias: bias.then(|| g.add_param("conv.b", ParamSpec::dense(vec![out])).unwrap()),
        stride,
        padding,
    })
}

/// Kernel patterns for conv weight `name`, assigned at random: four random patterns over blocks
/// of `rows` output channels (1: every kernel picks its own), each row keeping `keep` of a
/// kernel's taps.
fn kernel_patterns(g: &mut Graph, name: &str, keep: usize, rows: usize, rng: &mut ChaCha8Rng) {
    let shape = g.param(name).unwrap().shape.clone();
    let taps = shape[2] * shape[3];
    let patterns: Vec<BitMask> = (0..4)
        .map(|_| {
            BitMask(
                (0..rows)
                    .flat_map(|_| {
                        let kept = index::sample(rng, taps, keep).into_vec();
                        (0..taps).map(move |t| kept.contains(&t))
                    })
                    .collect(),
            )
        })
        .collect();
    let assign = (0..shape[0].div_ceil(rows) * shape[1])
        .map(|_| rng.random_range(0..patterns.len()) as u16)
        .collect();
    let s = Sparsity::Pattern {
        block: [rows, taps],
        patterns,
        assign,
    };
    g.set_sparsity(name, s).unwrap();
}

fn pick(rng: &mut ChaCha8Rng, v: &[usize]) -> usize {
    v[rng.random_range(0..v.len())]
}

/// Random single convolutions: dense; 3x3 kernel patterns keeping 4 of 9 taps, per kernel or
/// per block of 3 output channels; and a block mask, which runs as the dense kernel over the
/// projected weight.
#[test]
fn single_convs_match() {
    let Some(rt) = runtime("single_convs_match") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(71);
    let mut worst = 0.0f32;
    for case in 0..30 {
        let x = [
            rng.random_range(1..4),
            pick(&mut rng, &[1, 3, 5, 7]),
            pick(&mut rng, &[5, 7, 9, 12, 17, 28]),
            pick(&mut rng, &[5, 6, 11, 13, 28]),
        ];
        let out = pick(&mut rng, &[1, 4, 7, 13]);
        let kind = case % 3;
        let k = if kind == 1 { 3 } else { pick(&mut rng, &[1, 3, 5]) };
        let (stride, padding) = (rng.random_range(1..4), rng.random_range(0..3));
        let mut g = conv_graph(x, out, k, stride, padding, rng.random_bool(0.5));
        match kind {
            0 => {}
            1 => kernel_patterns(&mut g, "conv.w", 4, [1, 3][case % 2], &mut rng),
            _ => {
                let block = [2, 5];
                let grid = out.div_ceil(block[0]) * (x[1] * k * k).div_ceil(block[1]);
                let mask = BitMask((0..grid).map(|_| rng.random_bool(0.5)).collect());
                g.set_sparsity("conv.w", Sparsity::Block { block, mask }).unwrap();
            }
        }
        let w = random_weights(&g, &mut rng);
        let inputs = random_inputs(&g, &mut rng, 0);
        worst = worst.max(check(&rt, &g, &w, &inputs));
    }
    println!("single_convs_match: max |diff| {worst:e}");
}

/// 40 x 30 kernels: too many pattern assignments to bake, so the tables are a bound buffer.
#[test]
fn large_pattern_conv_matches() {
    let Some(rt) = runtime("large_pattern_conv_matches") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(72);
    let mut g = conv_graph([2, 30, 9, 11], 40, 3, 2, 1, true);
    kernel_patterns(&mut g, "conv.w", 4, 1, &mut rng);
    let w = random_weights(&g, &mut rng);
    let plan = canao_wgsl::lower(&g, &w).unwrap();
    let kernel = &plan.steps[0].kernel;
    assert_eq!(kernel.name, "conv2d_3x3_pattern_bias");
    assert!(kernel.tables.is_some());
    let inputs = random_inputs(&g, &mut rng, 0);
    let worst = check(&rt, &g, &w, &inputs);
    println!("large_pattern_conv_matches: max |diff| {worst:e}");
}

#[test]
fn pools_match() {
    let Some(rt) = runtime("pools_match") else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(73);
    let mut worst = 0.0f32;
    for case in 0..20 {
        let x = [
            rng.random_range(1..4),
            pick(&mut rng, &[1, 3, 6, 7]),
            pick(&mut rng, &[3, 5, 9, 12, 28]),
            pick(&mut rng, &[3, 7, 11, 28]),
        ];
        let kind = [PoolKind::Max, PoolKind::Avg][case % 2];
        let (size, stride) = (rng.random_range(1..4), rng.random_range(1..4));
        let g = single(x, |_| Op::Pool { kind, size, stride });
        let inputs = random_inputs(&g, &mut rng, 0);
        worst = worst.max(check(&rt, &g, &canao_ir::Weights::new(), &inputs));
    }
    println!("pools_match: max |diff| {worst:e}");
}

/// LeNet-5 end to end (conv, ReLU, max pool, flatten, linear): dense on a batch of 28x28
/// images, and on a batch of odd-sized 3-channel images with 5x5 kernel patterns keeping 10 of
/// 25 taps in both convolutions.
#[test]
fn lenet_matches() {
    let Some(rt) = runtime("lenet_matches") else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(74);
    let mut worst = 0.0f32;
    let dense = LeNetArch {
        batch: 2,
        ..LeNetArch::default()
    };
    let odd = LeNetArch {
        batch: 3,
        input: [3, 31, 29],
        conv1: 7,
        conv2: 13,
        ..LeNetArch::default()
    };
    for (arch, patterns) in [(dense, false), (odd, true)] {
        let mut g = arch.build().unwrap();
        if patterns {
            kernel_patterns(&mut g, "conv1.w", 10, 1, &mut rng);
            kernel_patterns(&mut g, "conv2.w", 10, 1, &mut rng);
        }
        let w = random_weights(&g, &mut rng);
        let inputs = random_inputs(&g, &mut rng, 0);
        worst = worst.max(check(&rt, &g, &w, &inputs));
    }
    println!("lenet_matches: max |diff| {worst:e}");
}
