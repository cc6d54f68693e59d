//! Every kernel family run on whatever wgpu adapter exists (Mesa's lavapipe on CI) against the
//! reference interpreter, on shapes that are not multiples of the tile sizes and random
//! sparsity. With no adapter each test prints `SKIP: no wgpu adapter` and returns;
//! `CANAO_REQUIRE_GPU=1` turns a missing adapter into a failure.
#![cfg(feature = "wgpu")]

mod common;

use canao_interp::random::{random_inputs, random_weights};
use canao_ir::builders::{BertArch, BertLayer, GcnArch};
use canao_ir::{Activation, BitMask, Executable, Graph, Op, Runtime, Schedule, Sparsity, TensorType, Weights};
use canao_tensor::Tensor;
use canao_testing::linear_graph;
use common::{check, runtime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn adapter_present_when_required() {
    let required = std::env::var_os("CANAO_REQUIRE_GPU").is_some_and(|v| v == "1");
    let rt = runtime("adapter_present_when_required");
    assert!(
        rt.is_some() || !required,
        "CANAO_REQUIRE_GPU=1 but wgpu found no adapter"
    );
}

/// A random structure of the given kind for an [n, k] weight.
fn sparsity(kind: usize, n: usize, k: usize, rng: &mut ChaCha8Rng) -> Sparsity {
    let grid = |b: [usize; 2]| n.div_ceil(b[0]) * k.div_ceil(b[1]);
    match kind {
        0 => Sparsity::Dense,
        1 => {
            let sizes = [1usize, 4, 8, 16, 32];
            let block = [sizes[rng.random_range(0..5)], sizes[rng.random_range(0..5)]];
            let density = rng.random_range(0.05..1.0);
            Sparsity::Block {
                block,
                mask: BitMask((0..grid(block)).map(|_| rng.random_bool(density)).collect()),
            }
        }
        2 => {
            let block = [rng.random_range(1..9), rng.random_range(1..12)];
            let patterns: Vec<BitMask> = (0..rng.random_range(1..5))
                .map(|_| BitMask((0..block[0] * block[1]).map(|_| rng.random_bool(0.5)).collect()))
                .collect();
            let assign = (0..grid(block))
                .map(|_| rng.random_range(0..patterns.len()) as u16)
                .collect();
            Sparsity::Pattern {
                block,
                patterns,
                assign,
            }
        }
        _ => Sparsity::Circulant {
            block: [1usize, 3, 4, 8][rng.random_range(0..4)],
        },
    }
}

#[test]
fn linear_layers_match() {
    let Some(rt) = runtime("linear_layers_match") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(61);
    let mut worst = 0.0f32;
    for case in 0..40 {
        let pick = |rng: &mut ChaCha8Rng, v: &[usize]| v[rng.random_range(0..v.len())];
        let tokens = pick(&mut rng, &[1, 3, 16, 17, 50, 77]);
        let k = pick(&mut rng, &[1, 3, 17, 50, 77, 100, 783]);
        let n = pick(&mut rng, &[1, 3, 9, 33, 50, 96]);
        // Every structure and epilogue turns up in 40 cases.
        let s = sparsity(case % 4, n, k, &mut rng);
        let act = [Activation::Identity, Activation::Gelu, Activation::Relu][case % 3];
        let g = linear_graph(tokens, k, n, s, act, rng.random_bool(0.5), rng.random_bool(0.5));
        let w = random_weights(&g, &mut rng);
        let inputs = random_inputs(&g, &mut rng, 0);
        worst = worst.max(check(&rt, &g, &w, &inputs));
    }
    println!("linear_layers_match: max |diff| {worst:e}");
}

/// Block-circulant layers through the frequency-domain kernels at the sizes that stress them:
/// MiniLM's FFN (128 tokens, 384 -> 1536 -> 384, b = 8), wide tiles (b = 16, 32) on sizes that
/// clip them, odd b (no Nyquist bin), b = 1, b wider than the matrix, and a single token.
#[test]
fn circulant_layers_match() {
    let Some(rt) = runtime("circulant_layers_match") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(65);
    let mut worst = 0.0f32;
    let cases = [
        // tokens, k, n, b
        (128, 384, 1536, 8),
        (128, 1536, 384, 8),
        (77, 783, 50, 16),
        (1, 783, 50, 32),
        (17, 50, 783, 32),
        (50, 77, 33, 5),
        (3, 100, 96, 1),
        (16, 3, 9, 7),
        (33, 17, 3, 64),
    ];
    for (case, (tokens, k, n, b)) in cases.into_iter().enumerate() {
        let act = [Activation::Identity, Activation::Gelu, Activation::Relu][case % 3];
        let s = Sparsity::Circulant { block: b };
        let g = linear_graph(tokens, k, n, s, act, case % 2 == 0, case % 4 < 2);
        let w = random_weights(&g, &mut rng);
        let inputs = random_inputs(&g, &mut rng, 0);
        let diff = check(&rt, &g, &w, &inputs);
        println!("  {tokens} x {k} -> {n}, b = {b}: max |diff| {diff:e}");
        worst = worst.max(diff);
    }
    println!("circulant_layers_match: max |diff| {worst:e}");
}

fn bert(seq: usize, hidden: usize, layers: Vec<BertLayer>, head_dim: usize, vocab: usize) -> BertArch {
    BertArch {
        vocab,
        max_positions: seq.max(40),
        type_vocab: 2,
        seq,
        hidden,
        head_dim,
        layer_norm_eps: 1e-12,
        layers,
    }
}

/// Whole encoders: embeddings, attention (split, scores, masked softmax, context, merge), layer
/// norms, GELU, residual epilogues, the masked mean and L2 normalisation, with every encoder
/// weight given the same random structure kind.
#[test]
fn bert_encoders_match() {
    let Some(rt) = runtime("bert_encoders_match") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(62);
    let mut worst = 0.0f32;
    for kind in 0..4 {
        let seq = [3, 17, 50, 39][kind];
        let layers = vec![
            BertLayer {
                hidden: 12,
                heads: rng.random_range(1..5),
                ffn: rng.random_range(1..50),
            },
            BertLayer {
                hidden: 10,
                heads: 2,
                ffn: 7,
            },
        ];
        let mut g = bert(seq, 12, layers, 4, 40).build().unwrap();
        sparsify(&mut g, kind, &mut rng);
        let w = random_weights(&g, &mut rng);
        let inputs = random_inputs(&g, &mut rng, 40);
        worst = worst.max(check(&rt, &g, &w, &inputs));
    }
    println!("bert_encoders_match: max |diff| {worst:e}");
}

/// Classifiers (`build_classifier`): the head on the masked mean, a linear layer on a plain
/// vector, gives the interpreter's logits (a trained model from canao-train runs so).
#[test]
fn bert_classifiers_match() {
    let Some(rt) = runtime("bert_classifiers_match") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(63);
    let mut worst = 0.0f32;
    for (kind, seq, classes) in [(0, 5, 2), (1, 19, 3), (3, 33, 10)] {
        let layers = vec![BertLayer {
            hidden: 12,
            heads: 3,
            ffn: 20,
        }];
        let mut g = bert(seq, 12, layers, 4, 40).build_classifier(classes).unwrap();
        sparsify(&mut g, kind, &mut rng);
        let w = random_weights(&g, &mut rng);
        let inputs = random_inputs(&g, &mut rng, 40);
        worst = worst.max(check(&rt, &g, &w, &inputs));
    }
    println!("bert_classifiers_match: max |diff| {worst:e}");
}

fn sparsify(g: &mut Graph, kind: usize, rng: &mut ChaCha8Rng) {
    let names: Vec<(String, Vec<usize>)> = g
        .params()
        .iter()
        .filter(|(n, _)| n.starts_with("enc") && n.ends_with(".w"))
        .map(|(n, s)| (n.clone(), s.shape.clone()))
        .collect();
    for (name, shape) in names {
        let s = sparsity(kind, shape[0], shape[1], rng);
        g.set_sparsity(&name, s).unwrap();
    }
}

/// One MiniLM-width layer (384 wide, 12 heads of 32, FFN 1536) at 77 tokens, 80 % of its
/// 32 x 32 blocks pruned: the shapes the real model runs.
#[test]
fn minilm_width_layer_matches() {
    let Some(rt) = runtime("minilm_width_layer_matches") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(63);
    let layer = BertLayer {
        hidden: 384,
        heads: 12,
        ffn: 1536,
    };
    let mut g = bert(77, 384, vec![layer], 32, 500).build().unwrap();
    let names: Vec<(String, Vec<usize>)> = g
        .params()
        .iter()
        .filter(|(n, _)| n.starts_with("enc") && n.ends_with(".w"))
        .map(|(n, s)| (n.clone(), s.shape.clone()))
        .collect();
    for (name, shape) in names {
        let grid = shape[0].div_ceil(32) * shape[1].div_ceil(32);
        let mask = BitMask((0..grid).map(|_| rng.random_bool(0.2)).collect());
        g.set_sparsity(&name, Sparsity::Block { block: [32, 32], mask })
            .unwrap();
    }
    let w = random_weights(&g, &mut rng);
    let inputs = random_inputs(&g, &mut rng, 500);
    let worst = check(&rt, &g, &w, &inputs);
    println!("minilm_width_layer_matches: max |diff| {worst:e}");
}

#[test]
fn gcn_matches() {
    let Some(rt) = runtime("gcn_matches") else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(64);
    let g = GcnArch {
        nodes: 77,
        features: 50,
        hidden: 17,
        classes: 3,
        nnz: 300,
    }
    .build()
    .unwrap();
    let w = random_weights(&g, &mut rng);
    let inputs = random_inputs(&g, &mut rng, 0);
    let worst = check(&rt, &g, &w, &inputs);
    println!("gcn_matches: max |diff| {worst:e}");
}

#[test]
fn bad_inputs_are_typed_errors() {
    let Some(rt) = runtime("bad_inputs_are_typed_errors") else {
        return;
    };
    let g = bert(
        5,
        12,
        vec![BertLayer {
            hidden: 12,
            heads: 3,
            ffn: 7,
        }],
        4,
        40,
    )
    .build()
    .unwrap();
    let w = random_weights(&g, &mut ChaCha8Rng::seed_from_u64(1));
    let mut exe = rt.prepare(&g, &w, &Schedule::default()).unwrap();
    let mut inputs = random_inputs(&g, &mut ChaCha8Rng::seed_from_u64(2), 40);
    inputs.insert(
        "input_ids".into(),
        Tensor::new(vec![5], vec![1.0, 2.0, 40.0, 3.0, 4.0]).unwrap(),
    );
    let err = exe.run(&inputs).unwrap_err().to_string();
    assert!(
        err.contains("(embedding)") && err.contains("id 40 at position 2"),
        "{err}"
    );
    inputs.remove("attention_mask");
    assert!(exe.run(&inputs).unwrap_err().to_string().contains("`attention_mask`"));
}

/// The real all-MiniLM-L6-v2 (weights from the asset cache) on wgpu: its sentence embeddings
/// match the CPU backend's within 1e-4, dense and with 80 % of every encoder matrix's 32 x 32
/// blocks pruned.
#[test]
fn real_minilm_embeddings_match_the_cpu_backend() {
    let Some(rt) = runtime("real_minilm_embeddings_match_the_cpu_backend") else {
        return;
    };
    let home = canao_models::assets::canao_home();
    let mut model = canao_models::MiniLm::from_cache(&home, &mut |l| eprintln!("{l}")).unwrap();
    let texts: Vec<String> = [
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
    ]
    .map(String::from)
    .to_vec();
    for pruned in [false, true] {
        if pruned {
            for param in model.prunable() {
                let w = model.weights().dense(&param).unwrap();
                let s = canao_compress::block_magnitude(&param, w, [32, 32], 0.8).unwrap();
                model.set_sparsity(&param, s).unwrap();
            }
        }
        let policy = canao_models::LengthPolicy::Refuse;
        let schedule = Schedule::default();
        let gpu = model.embed(&rt, &schedule, &texts, policy).unwrap();
        let cpu = model.embed(&canao_cpu::CpuRuntime, &schedule, &texts, policy).unwrap();
        let worst = gpu
            .vectors
            .iter()
            .flatten()
            .zip(cpu.vectors.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("real MiniLM (pruned: {pruned}): max |wgpu - cpu| {worst:e}");
        assert!(worst <= 1e-4, "pruned {pruned}: max difference {worst}");
    }
}

/// softmax(alpha q k^T) v as a graph of its own: inputs q [h, q, d], k [h, s, d], v [h, s, dv]
/// and, when masked, `attention_mask` [s].
fn attention_graph(h: usize, q: usize, s: usize, d: usize, dv: usize, masked: bool) -> Graph {
    let mut g = Graph::new(format!("attention_{h}x{q}x{s}x{d}x{dv}"));
    let input = |g: &mut Graph, name: &str, shape: Vec<usize>| {
        g.add(
            Op::Input {
                name: name.into(),
                ty: TensorType::f32(shape),
            },
            &[],
        )
        .unwrap()
    };
    let (qi, ki, vi) = (
        input(&mut g, "q", vec![h, q, d]),
        input(&mut g, "k", vec![h, s, d]),
        input(&mut g, "v", vec![h, s, dv]),
    );
    let scores = g
        .add(
            Op::MatMul {
                transpose_b: true,
                alpha: 0.3,
            },
            &[qi, ki],
        )
        .unwrap();
    let probs = if masked {
        let mask = input(&mut g, "attention_mask", vec![s]);
        g.add(Op::MaskedSoftmax, &[scores, mask]).unwrap()
    } else {
        g.add(Op::Softmax, &[scores]).unwrap()
    };
    let ctx = g
        .add(
            Op::MatMul {
                transpose_b: false,
                alpha: 1.5,
            },
            &[probs, vi],
        )
        .unwrap();
    g.set_outputs(vec![ctx]).unwrap();
    g
}

/// The fused attention kernel on awkward sizes (widths over and under its 64 invocations, one
/// key, one query), masked and not, with every key masked once; and a block whose scores
/// cannot fit in workgroup memory, which must stay on the unfused kernels.
#[test]
fn attention_blocks_match() {
    let Some(rt) = runtime("attention_blocks_match") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(65);
    let mut worst = 0.0f32;
    let cases = [
        (1, 1, 1, 1, 1, true),
        (3, 7, 77, 5, 17, true),
        (2, 50, 200, 70, 100, false),
        (4, 17, 3, 32, 64, true),
        (1, 2, 4100, 2, 3, true),
    ];
    for (i, &(h, q, s, d, dv, masked)) in cases.iter().enumerate() {
        let g = attention_graph(h, q, s, d, dv, masked);
        let fused = canao_wgsl::lower(&g, &Weights::new())
            .unwrap()
            .steps
            .iter()
            .any(|st| st.kernel.name.starts_with("attention"));
        assert_eq!(fused, s < 4000, "{}: fused {fused}", g.name());
        let mut inputs = random_inputs(&g, &mut rng, 0);
        if i == 0 {
            // The only key masked: probabilities and context are zero.
            inputs.insert("attention_mask".into(), Tensor::new(vec![1], vec![0.0]).unwrap());
        }
        worst = worst.max(check(&rt, &g, &Weights::new(), &inputs));
    }
    println!("attention_blocks_match: max |diff| {worst:e}");
}

/// Blocks of whole 16 x 16 tiles take the tiled kernel: awkward sizes that clip the edge blocks
/// in both directions, densities from none kept to all kept, every epilogue.
#[test]
fn tiled_block_layers_match() {
    let Some(rt) = runtime("tiled_block_layers_match") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(66);
    let mut worst = 0.0f32;
    let cases = [
        (50usize, 783usize, 50usize, [16usize, 32], 0.3),
        (1, 77, 33, [32, 16], 1.0),
        (17, 100, 96, [32, 32], 0.0),
        (128, 384, 1536, [32, 32], 0.2),
        (33, 50, 17, [16, 16], 0.6),
    ];
    for (i, &(tokens, k, n, block, density)) in cases.iter().enumerate() {
        let grid = n.div_ceil(block[0]) * k.div_ceil(block[1]);
        let mask = BitMask((0..grid).map(|_| rng.random_bool(density)).collect());
        let act = [Activation::Identity, Activation::Gelu, Activation::Relu][i % 3];
        let g = linear_graph(tokens, k, n, Sparsity::Block { block, mask }, act, i % 2 == 0, true);
        let w = random_weights(&g, &mut rng);
        let plan = canao_wgsl::lower(&g, &w).unwrap();
        assert!(
            plan.steps[0].kernel.name.contains("_tiled"),
            "{}",
            plan.steps[0].kernel.name
        );
        worst = worst.max(check(&rt, &g, &w, &random_inputs(&g, &mut rng, 0)));
    }
    println!("tiled_block_layers_match: max |diff| {worst:e}");
}
