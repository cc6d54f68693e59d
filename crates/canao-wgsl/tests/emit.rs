//! Every emitted kernel parses and validates with naga (the validator wgpu runs), with no GPU;
//! representative kernels are kept as golden files (`CANAO_BLESS=1` rewrites them).

use std::path::PathBuf;

use canao_interp::random::random_weights;
use canao_ir::builders::{BertArch, BertLayer, GcnArch, LeNetArch, LinearArch};
use canao_ir::{Activation, BitMask, Graph, PoolKind, Sparsity};
use canao_wgsl::emit::attention::{self, AttentionShape};
use canao_wgsl::emit::block::{self, BlockLayout};
use canao_wgsl::emit::circulant;
use canao_wgsl::emit::conv::{self, Window};
use canao_wgsl::emit::epilogue::Epilogue;
use canao_wgsl::emit::matmul::{self, MatMulShape};
use canao_wgsl::emit::pattern::{self, PatternLayout};
use canao_wgsl::emit::{Kernel, LinearShape, dense, elementwise, norm, softmax, spmm};
use canao_wgsl::{Arg, lower};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Parses and validates with every capability off, as a portable WebGPU implementation must.
fn validate(k: &Kernel) {
    let module = naga::front::wgsl::parse_str(&k.source)
        .unwrap_or_else(|e| panic!("{}: {}\n{}", k.name, e.emit_to_string(&k.source), k.source));
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {}\n{}", k.name, e.emit_to_string(&k.source), k.source));
    assert_eq!(
        module
            .global_variables
            .iter()
            .filter(|(_, v)| v.binding.is_some())
            .count(),
        k.bindings.len(),
        "{}: bindings",
        k.name
    );
}

const SHAPE: LinearShape = LinearShape {
    tokens: 50,
    input: 77,
    output: 33,
};

const FULL: Epilogue = Epilogue {
    bias: true,
    act: Activation::Gelu,
    residual: true,
};

fn block_layout() -> BlockLayout {
    // 33 x 77 in 8 x 16 blocks: a 5 x 5 grid, every third block kept, block row 1 empty.
    let mask = BitMask((0..25).map(|i| i % 3 == 0 && i / 5 != 1).collect());
    BlockLayout::new([33, 77], [8, 16], &mask)
}

fn tiled_block_layout() -> BlockLayout {
    // 33 x 77 in 16 x 32 blocks: a 3 x 3 grid, the corners and the centre kept.
    let mask = BitMask((0..9).map(|i| i % 2 == 0).collect());
    BlockLayout::new([33, 77], [16, 32], &mask)
}

fn pattern_layout() -> PatternLayout {
    let patterns = vec![
        BitMask((0..16).map(|i| i % 5 == 0).collect()),
        BitMask((0..16).map(|i| i / 4 == i % 4).collect()),
    ];
    // 33 x 77 in 4 x 4 tiles: a 9 x 20 grid.
    let assign: Vec<u16> = (0..9 * 20).map(|i| (i % 3 == 0) as u16).collect();
    PatternLayout::new([4, 4], &patterns, &assign)
}

/// x [2, 3, 11, 13] -> y [2, 5, 6, 7]: a 3x3 window at stride 2 with padding 1.
fn conv_window() -> Window {
    Window::new(&[2, 3, 11, 13], &[2, 5, 6, 7], [3, 3], 2, 1)
}

/// x [2, 3, 11, 13] -> y [2, 3, 5, 6]: 3x3 pooling at stride 2.
fn pool_window() -> Window {
    Window::new(&[2, 3, 11, 13], &[2, 3, 5, 6], [3, 3], 2, 0)
}

/// Kernel patterns keeping 4 of 9 taps of a 3x3 kernel, one per kernel of a [out, 3, 3, 3] weight.
fn kernel_patterns(out: usize) -> PatternLayout {
    let patterns = vec![
        BitMask((0..9).map(|t| [0, 1, 3, 4].contains(&t)).collect()),
        BitMask((0..9).map(|t| [1, 3, 4, 5].contains(&t)).collect()),
        BitMask((0..9).map(|t| [4, 5, 7, 8].contains(&t)).collect()),
    ];
    let assign: Vec<u16> = (0..out * 3).map(|i| (i * 7 % 3) as u16).collect();
    PatternLayout::new([1, 9], &patterns, &assign)
}

fn attention_shape(masked: bool) -> AttentionShape {
    AttentionShape {
        heads: 12,
        queries: 128,
        keys: 128,
        dim: 32,
        value_dim: 32,
        alpha: 0.17677669,
        out_alpha: 1.0,
        masked,
    }
}

/// One kernel of each family, as kept in the golden files.
fn representative() -> Vec<Kernel> {
    vec![
        dense::emit(SHAPE, &FULL),
        block::emit(SHAPE, &block_layout(), &FULL),
        block::emit(SHAPE, &tiled_block_layout(), &FULL),
        pattern::emit(SHAPE, &pattern_layout(), &Epilogue::NONE),
        norm::layer_norm(50, 77, 1e-12),
        norm::l2_normalize(1, 384),
        softmax::emit(12 * 50, 50, true),
        matmul::emit(MatMulShape {
            batch: 12,
            m: 50,
            k: 32,
            n: 50,
            transpose_b: true,
            alpha: 0.17677669,
        }),
        elementwise::embedding(50, 384),
        elementwise::masked_mean(50, 384),
        spmm::emit(2708, 16, 13_264),
        // MiniLM's: 12 heads of 32, 128 tokens.
        attention::emit(&attention_shape(true)),
        conv::dense(conv_window(), true),
        conv::pattern(conv_window(), &kernel_patterns(5), false),
        conv::pool(pool_window(), PoolKind::Max),
        conv::pool(pool_window(), PoolKind::Avg),
        // 33 x 77 in 8 x 8 tiles, both edges clipped.
        circulant::forward(SHAPE, 8),
        circulant::mix(SHAPE, 8),
        circulant::inverse(SHAPE, 8, &FULL),
    ]
}

#[test]
fn every_family_validates() {
    for k in representative() {
        validate(&k);
    }
    for act in [Activation::Identity, Activation::Gelu, Activation::Relu] {
        validate(&elementwise::activation(100, act));
        for (bias, residual) in [(false, false), (true, false), (false, true)] {
            let ep = Epilogue { bias, act, residual };
            validate(&dense::emit(SHAPE, &ep));
            validate(&block::emit(SHAPE, &block_layout(), &ep));
            validate(&block::emit(SHAPE, &tiled_block_layout(), &ep));
            validate(&pattern::emit(SHAPE, &pattern_layout(), &ep));
            validate(&circulant::inverse(SHAPE, 5, &ep));
        }
    }
    // B = 1 (one bin, every piece one wide) and B wider than the whole matrix.
    for b in [1, 128] {
        validate(&circulant::forward(SHAPE, b));
        validate(&circulant::mix(SHAPE, b));
        validate(&circulant::inverse(SHAPE, b, &FULL));
    }
    let big = BlockLayout::new([33, 77], [1, 1], &BitMask(vec![true; 33 * 77]));
    let k = block::emit(SHAPE, &big, &FULL);
    assert_eq!(k.tables.as_ref().map(Vec::len), Some(34 + 33 * 77));
    assert_eq!(k.bindings[2].name, "tables");
    assert!(block::emit(SHAPE, &block_layout(), &FULL).tables.is_none());
    // Enough kernels that the pattern tables are bound rather than baked.
    let big = Window::new(&[1, 3, 11, 13], &[1, 400, 6, 7], [3, 3], 2, 1);
    let k = conv::pattern(big, &kernel_patterns(400), true);
    assert_eq!(k.bindings[2].name, "tables");
    for k in [
        k,
        conv::dense(conv_window(), false),
        conv::pattern(conv_window(), &kernel_patterns(5), true),
        elementwise::copy(7),
        elementwise::add(7),
        elementwise::bias(21, 7),
        elementwise::split_heads(5, 3, 4),
        elementwise::merge_heads(5, 3, 4),
        softmax::emit(3, 5, false),
        attention::emit(&attention_shape(false)),
        // A mask too large to bake: its tables become a bound buffer.
        block::emit(
            SHAPE,
            &BlockLayout::new([33, 77], [1, 1], &BitMask(vec![true; 33 * 77])),
            &FULL,
        ),
        // An all-zero mask still emits valid (placeholder) constant arrays.
        block::emit(
            SHAPE,
            &BlockLayout::new([33, 77], [8, 16], &BitMask(vec![false; 25])),
            &FULL,
        ),
    ] {
        validate(&k);
    }
}

/// Every kernel a whole model lowers to validates, whatever the sparsity of its layers.
#[test]
fn lowered_models_validate() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let arch = BertArch {
        vocab: 40,
        max_positions: 40,
        type_vocab: 2,
        seq: 17,
        hidden: 12,
        head_dim: 4,
        layer_norm_eps: 1e-12,
        layers: vec![
            BertLayer {
                hidden: 12,
                heads: 3,
                ffn: 50,
            },
            BertLayer {
                hidden: 10,
                heads: 2,
                ffn: 7,
            },
        ],
    };
    let mut g = arch.build().unwrap();
    sparsify(&mut g, &mut rng);
    let gcn = GcnArch {
        nodes: 23,
        features: 9,
        hidden: 5,
        classes: 3,
        nnz: 40,
    }
    .build()
    .unwrap();
    let mut lenet = LeNetArch {
        batch: 2,
        input: [3, 17, 15],
        ..LeNetArch::default()
    }
    .build()
    .unwrap();
    sparsify_convs(&mut lenet, &mut rng);
    for g in [g, gcn, lenet] {
        let w = random_weights(&g, &mut rng);
        let plan = lower(&g, &w).unwrap();
        assert!(!plan.steps.is_empty());
        for s in &plan.steps {
            assert_eq!(s.args.len(), s.kernel.bindings.len(), "{}", s.node);
            validate(&s.kernel);
        }
    }
}

/// Gives the encoder's weights block, pattern and circulant structure in turn.
fn sparsify(g: &mut Graph, rng: &mut ChaCha8Rng) {
    let names: Vec<(String, Vec<usize>)> = g
        .params()
        .iter()
        .filter(|(n, _)| n.starts_with("enc") && n.ends_with(".w"))
        .map(|(n, s)| (n.clone(), s.shape.clone()))
        .collect();
    for (i, (name, shape)) in names.into_iter().enumerate() {
        let grid = |b: [usize; 2]| shape[0].div_ceil(b[0]) * shape[1].div_ceil(b[1]);
        let s = match i % 3 {
            0 => Sparsity::Block {
                block: [4, 3],
                mask: BitMask((0..grid([4, 3])).map(|_| rng.random_bool(0.5)).collect()),
            },
            1 => Sparsity::Pattern {
                block: [2, 5],
                patterns: vec![BitMask((0..10).map(|j| j % 2 == 0).collect()), BitMask(vec![true; 10])],
                assign: (0..grid([2, 5])).map(|_| rng.random_range(0..2)).collect(),
            },
            _ => Sparsity::Circulant { block: 4 },
        };
        g.set_sparsity(&name, s).unwrap();
    }
}

/// The first conv weight gets 5x5 kernel patterns; the second a block mask, which runs as the
/// dense kernel over the projected weight.
fn sparsify_convs(g: &mut Graph, rng: &mut ChaCha8Rng) {
    let n: usize = g.param("conv1.w").unwrap().shape[..2].iter().product();
    let patterns = (0..3)
        .map(|_| BitMask((0..25).map(|_| rng.random_bool(0.4)).collect()))
        .collect();
    let assign = (0..n).map(|_| rng.random_range(0..3)).collect();
    g.set_sparsity(
        "conv1.w",
        Sparsity::Pattern {
            block: [1, 25],
            patterns,
            assign,
        },
    )
    .unwrap();
    let shape = g.param("conv2.w").unwrap().matrix_shape();
    let grid = shape[0].div_ceil(4) * shape[1].div_ceil(10);
    let mask = BitMask((0..grid).map(|_| rng.random_bool(0.5)).collect());
    g.set_sparsity("conv2.w", Sparsity::Block { block: [4, 10], mask })
        .unwrap();
}

/// A circulant layer runs through the frequency domain: forward DFT and mixing into spectra of
/// its own, then the inverse DFT with the epilogue, which writes the layer's value.
#[test]
fn circulant_layers_lower_to_three_kernels() {
    let mut g = LinearArch {
        tokens: 17,
        input: 50,
        output: 33,
        bias: true,
        act: Activation::Gelu,
    }
    .build()
    .unwrap();
    g.set_sparsity("fc.w", Sparsity::Circulant { block: 8 }).unwrap();
    let w = random_weights(&g, &mut ChaCha8Rng::seed_from_u64(3));
    let plan = lower(&g, &w).unwrap();
    let names: Vec<&str> = plan.steps.iter().map(|s| s.kernel.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "linear_circulant_8_dft",
            "linear_circulant_8_mix",
            "linear_circulant_8_idft_bias_gelu"
        ]
    );
    // Spectra: 5 bins of (re, im) for 17 tokens in 7 input and 5 output pieces.
    let value = |a: &Arg| match a {
        Arg::Value(v) => *v,
        Arg::Param(p) => panic!("parameter {p} where a value was expected"),
    };
    let spectra: Vec<usize> = plan.steps[..2].iter().map(|s| plan.values[value(&s.args[2])]).collect();
    assert_eq!(spectra, [2 * 5 * 17 * 7, 2 * 5 * 17 * 5]);
    assert_eq!(plan.steps[1].args[0], plan.steps[0].args[2]);
    assert_eq!(plan.steps[2].args[0], plan.steps[1].args[2]);
    assert_eq!(plan.outputs[0].0, value(plan.steps[2].args.last().unwrap()));
}

#[test]
fn missing_weights_are_named() {
    let g = LinearArch {
        tokens: 3,
        input: 4,
        output: 5,
        bias: false,
        act: Activation::Identity,
    }
    .build()
    .unwrap();
    assert!(
        lower(&g, &canao_ir::Weights::new())
            .unwrap_err()
            .to_string()
            .contains("fc.w")
    );
}

#[test]
fn golden_files_match() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let bless = std::env::var_os("CANAO_BLESS").is_some_and(|v| v == "1");
    for k in representative() {
        let path = dir.join(format!("{}.wgsl", k.name));
        if bless {
            std::fs::write(&path, &k.source).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with CANAO_BLESS=1 to write it)", path.display()));
        assert!(
            want == k.source,
            "{} differs from the emitted source; if the change is meant, rerun with CANAO_BLESS=1",
            path.display()
        );
    }
}
