//! Every CPU kernel and whole graphs against the reference interpreter, on random shapes that
//! are not multiples of the tile sizes, random sparsity and random data.

use std::collections::BTreeMap;

use canao_cpu::{CpuExe, CpuRuntime, Isa};
use canao_interp::Interpreter;
use canao_interp::random::{random_inputs, random_weights};
use canao_ir::builders::{BertArch, BertLayer, GcnArch, LeNetArch};
use canao_ir::{Activation, BitMask, Executable, Graph, Op, Runtime, Schedule, Sparsity, TensorType, Weights};
use canao_tensor::{Tensor, tolerance};
use canao_testing::linear_graph;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Proptest cases: `default`, or `PROPTEST_CASES` where set (fewer under qemu).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the interpreter and the CPU backend on every instruction set this CPU has, and compares
/// every output within KERNEL_ABS, relative to magnitude.
fn check(g: &Graph, w: &Weights, inputs: &BTreeMap<String, Tensor>, threads: usize) {
    let want = Interpreter
        .prepare(g, w, &Schedule::default())
        .unwrap()
        .run(inputs)
        .unwrap();
    for isa in Isa::available() {
        let mut exe = CpuRuntime.prepare_isa(g, w, &Schedule { threads }, isa).unwrap();
        assert_eq!(exe.isa(), isa);
        check_runs(&mut exe, g, inputs, &want);
    }
}

/// Two runs of `exe` against the interpreter's outputs.
fn check_runs(exe: &mut CpuExe, g: &Graph, inputs: &BTreeMap<String, Tensor>, want: &[Tensor]) {
    let isa = exe.isa();
    for _ in 0..2 {
        // Twice: the second run reuses buffers holding the first run's values.
        let got = exe.run(inputs).unwrap();
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert_eq!(a.shape(), b.shape(), "output {i}");
            for (j, (x, y)) in a.data().iter().zip(b.data()).enumerate() {
                assert!(
                    (x - y).abs() <= tolerance::KERNEL_ABS * (1.0 + y.abs()),
                    "{} on {isa}: output {i}[{j}]: cpu {x} vs interp {y}",
                    g.name()
                );
            }
        }
    }
}

/// One linear layer with sparsity `s` and activation number `act` (identity, GELU, ReLU), its
/// weights and inputs drawn from `rng`, checked on every instruction set.
fn check_linear(
    (tokens, k, n): (usize, usize, usize),
    s: Sparsity,
    act: usize,
    (residual, bias): (bool, bool),
    threads: usize,
    rng: &mut ChaCha8Rng,
) {
    let act = [Activation::Identity, Activation::Gelu, Activation::Relu][act];
    let g = linear_graph(tokens, k, n, s, act, residual, bias);
    let w = random_weights(&g, rng);
    let inputs = random_inputs(&g, rng, 0);
    check(&g, &w, &inputs, threads);
}

/// A random sparsity of the given kind for an [n, k] weight.
fn sparsity(kind: usize, n: usize, k: usize, rng: &mut ChaCha8Rng) -> Sparsity {
    let sizes = [1usize, 4, 8, 16, 32];
    match kind {
        0 => Sparsity::Dense,
        1 => {
            let block = [sizes[rng.random_range(0..5)], sizes[rng.random_range(0..5)]];
            let density = rng.random_range(0.05..1.0);
            let grid = n.div_ceil(block[0]) * k.div_ceil(block[1]);
            Sparsity::Block {
                block,
                mask: BitMask((0..grid).map(|_| rng.random_bool(density)).collect()),
            }
        }
        2 => {
            let block = [rng.random_range(1..9), rng.random_range(1..12)];
            let patterns = (0..rng.random_range(1..5))
                .map(|_| BitMask((0..block[0] * block[1]).map(|_| rng.random_bool(0.5)).collect()))
                .collect::<Vec<_>>();
            let grid = n.div_ceil(block[0]) * k.div_ceil(block[1]);
            let assign = (0..grid).map(|_| rng.random_range(0..patterns.len()) as u16).collect();
            Sparsity::Pattern {
                block,
                patterns,
                assign,
            }
        }
        _ => Sparsity::Circulant {
            block: [1usize, 2, 3, 4, 8, 16][rng.random_range(0..6)],
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(48)))]

    #[test]
    fn weight_kernels_match(
        tokens in prop::sample::select(vec![1usize, 3, 16, 17, 50, 64, 129]),
        k in prop::sample::select(vec![1usize, 3, 17, 50, 64, 100, 783]),
        n in prop::sample::select(vec![1usize, 3, 9, 33, 50, 96]),
        kind in 0usize..4,
        act in 0usize..3,
        residual: bool,
        bias: bool,
        threads in 1usize..3,
        seed: u64,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s = sparsity(kind, n, k, &mut rng);
        check_linear((tokens, k, n), s, act, (residual, bias), threads, &mut rng);
    }

    /// One-row blocks have their own chunked kernel: shapes cross its chunk boundaries (64 to
    /// 256 columns, by density), its 128-token tile and its 64-row blocks (which threads split),
    /// with near-empty and full masks.
    #[test]
    fn unstructured_kernels_match(
        tokens in prop::sample::select(vec![1usize, 17, 128, 129, 200]),
        k in prop::sample::select(vec![1usize, 63, 65, 129, 300, 783]),
        n in prop::sample::select(vec![1usize, 5, 50, 150]),
        c in prop::sample::select(vec![1usize, 4, 32]),
        density in prop::sample::select(vec![0.02f64, 0.1, 0.3, 0.7, 1.0]),
        act in 0usize..3,
        residual: bool,
        threads in 1usize..3,
        seed: u64,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mask = BitMask((0..n * k.div_ceil(c)).map(|_| rng.random_bool(density)).collect());
        let s = Sparsity::Block { block: [1, c], mask };
        check_linear((tokens, k, n), s, act, (residual, true), threads, &mut rng);
    }

    /// Pattern kernels run a block row's pieces (a column and up to 8 of the rows keeping it)
    /// in token tiles of 64, 32 and 16: blocks taller than a piece, edge blocks clipped on both
    /// sides, patterns from near-empty to full, and widths that cross every tile.
    #[test]
    fn pattern_kernels_match(
        tokens in prop::sample::select(vec![1usize, 17, 33, 64, 65, 129, 200]),
        k in prop::sample::select(vec![1usize, 7, 40, 129]),
        n in prop::sample::select(vec![1usize, 13, 40, 70]),
        r in prop::sample::select(vec![1usize, 3, 8, 9, 16, 20]),
        c in prop::sample::select(vec![1usize, 5, 16]),
        density in prop::sample::select(vec![0.05f64, 0.3, 0.6, 1.0]),
        act in 0usize..3,
        residual: bool,
        threads in 1usize..3,
        seed: u64,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let patterns: Vec<BitMask> = (0..rng.random_range(1..5))
            .map(|_| BitMask((0..r * c).map(|_| rng.random_bool(density)).collect()))
            .collect();
        let grid = n.div_ceil(r) * k.div_ceil(c);
        let assign = (0..grid).map(|_| rng.random_range(0..patterns.len()) as u16).collect();
        let s = Sparsity::Pattern { block: [r, c], patterns, assign };
        check_linear((tokens, k, n), s, act, (residual, true), threads, &mut rng);
    }

    #[test]
    fn bert_encoders_match(seq in 1usize..40, heads in 1usize..5, ffn in 1usize..50, kind in 0usize..4, threads in 1usize..3, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let arch = BertArch {
            vocab: 40, max_positions: 40, type_vocab: 2, seq, hidden: 12, head_dim: 4, layer_norm_eps: 1e-12,
            layers: vec![BertLayer { hidden: 12, heads, ffn }, BertLayer { hidden: 10, heads: 2, ffn: 7 }],
        };
        let mut g = arch.build().unwrap();
        let names: Vec<(String, Vec<usize>)> = g.params().iter()
            .filter(|(n, _)| n.ends_with(".w") && n.starts_with("enc"))
            .map(|(n, s)| (n.clone(), s.shape.clone())).collect();
        for (name, shape) in names {
            let s = sparsity(kind, shape[0], shape[1], &mut rng);
            g.set_sparsity(&name, s).unwrap();
        }
        let w = random_weights(&g, &mut rng);
        let inputs = random_inputs(&g, &mut rng, 40);
        check(&g, &w, &inputs, threads);
    }

    #[test]
    fn lenet_and_gcn_match(hw in 12usize..21, batch in 1usize..3, pattern: bool, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut lenet = LeNetArch { batch, input: [2, hw, hw], conv1: 3, conv2: 5, fc1: 7, fc2: 6, classes: 4 }.build().unwrap();
        if pattern {
            // 3x3-style kernel patterns on the 5x5 convolution's [out, in*25] view: 1 x 25 blocks.
            let pats = vec![BitMask((0..25).map(|i| i % 3 == 0).collect()), BitMask((0..25).map(|i| i % 2 == 0).collect())];
            let assign = (0..3 * 2).map(|i| (i % 2) as u16).collect();
            lenet.set_sparsity("conv1.w", Sparsity::Pattern { block: [1, 25], patterns: pats, assign }).unwrap();
        }
        let w = random_weights(&lenet, &mut rng);
        let inputs = random_inputs(&lenet, &mut rng, 0);
        check(&lenet, &w, &inputs, 1);
        let gcn = GcnArch { nodes: 23, features: 9, hidden: 5, classes: 3, nnz: 40 }.build().unwrap();
        let w = random_weights(&gcn, &mut rng);
        let inputs = random_inputs(&gcn, &mut rng, 0);
        check(&gcn, &w, &inputs, 1);
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    let g = linear_graph(3, 4, 5, Sparsity::Dense, Activation::Identity, false, false);
    let w = random_weights(&g, &mut ChaCha8Rng::seed_from_u64(1));
    let mut exe = CpuRuntime.prepare(&g, &w, &Schedule::default()).unwrap();
    let err = exe.run(&BTreeMap::new()).unwrap_err().to_string();
    assert!(err.contains("`x`"), "{err}");
    let mut inputs = BTreeMap::new();
    inputs.insert("x".to_string(), Tensor::zeros(vec![4, 3]));
    assert!(exe.run(&inputs).unwrap_err().to_string().contains("[3, 4]"));
    inputs.insert("x".to_string(), Tensor::new(vec![3, 4], vec![f32::NAN; 12]).unwrap());
    assert!(exe.run(&inputs).unwrap_err().to_string().contains("`x`"));

    // An instruction set this CPU lacks (NEON on x86, AVX on ARM) is refused by name.
    let missing = Isa::ALL
        .into_iter()
        .find(|i| !i.is_available())
        .expect("no CPU has them all");
    let err = CpuRuntime
        .prepare_isa(&g, &w, &Schedule::default(), missing)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("cannot run the {missing} path")), "{err}");

    // A standalone softmax has no CPU kernel: the error names the node.
    let mut g = Graph::new("sm");
    let x = g
        .add(
            Op::Input {
                name: "x".into(),
                ty: TensorType::f32(vec![2, 3]),
            },
            &[],
        )
        .unwrap();
    let y = g.add(Op::Softmax, &[x]).unwrap();
    g.set_outputs(vec![y]).unwrap();
    let err = CpuRuntime
        .prepare(&g, &Weights::new(), &Schedule::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("%1 (softmax)"), "{err}");
}
