//! IR behaviour: text round trips, shape errors, hand-checked costs, passes, RON errors.

use canao_ir::builders::{Arch, BertArch, BertLayer, GcnArch, LeNetArch, LinearArch, from_ron};
use canao_ir::op::{Axis, Expected, Rank};
use canao_ir::pass::{DeadNodeElimination, Pass, Pipeline, linear_epilogue};
use canao_ir::{Activation, BitMask, Graph, IrError, Op, ParamSpec, ShapeError, Sparsity, TensorType, parse_graph};

fn tiny_bert() -> BertArch {
    BertArch {
        vocab: 50,
        max_positions: 16,
        type_vocab: 2,
        seq: 7,
        hidden: 8,
        head_dim: 4,
        layer_norm_eps: 1e-12,
        layers: vec![
            BertLayer {
                hidden: 8,
                heads: 2,
                ffn: 12,
            },
            BertLayer {
                hidden: 12,
                heads: 3,
                ffn: 5,
            },
        ],
    }
}

fn builders() -> Vec<Graph> {
    vec![
        tiny_bert().build().unwrap(),
        BertArch::minilm(128).build().unwrap(),
        LeNetArch::default().build().unwrap(),
        GcnArch {
            nodes: 30,
            features: 11,
            hidden: 16,
            classes: 3,
            nnz: 90,
        }
        .build()
        .unwrap(),
        LinearArch {
            tokens: 5,
            input: 7,
            output: 3,
            bias: true,
            act: Activation::Relu,
        }
        .build()
        .unwrap(),
    ]
}

#[test]
fn text_round_trips_every_builder_graph() {
    for g in builders() {
        let text = g.to_string();
        let back = parse_graph(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", g.name()));
        assert_eq!(back, g, "{}", g.name());
        assert_eq!(back.to_string(), text);
    }
}

#[test]
fn text_round_trips_after_passes_and_with_sparsity() {
    let mut g = tiny_bert().build().unwrap();
    Pipeline::standard().run(&mut g).unwrap();
    let grid = 12usize.div_ceil(4) * 8usize.div_ceil(4);
    let mask = BitMask((0..grid).map(|i| i % 2 == 0).collect());
    g.set_sparsity("enc.0.ffn.in.w", Sparsity::Block { block: [4, 4], mask })
        .unwrap();
    g.set_sparsity("enc.1.ffn.out.w", Sparsity::Circulant { block: 4 })
        .unwrap();
    let back = parse_graph(&g.to_string()).unwrap();
    assert_eq!(back, g);
}

#[test]
fn shape_errors_name_the_node() {
    let mut g = Graph::new("bad");
    g.add_param("w", ParamSpec::dense(vec![4, 5])).unwrap();
    let x = g
        .add(
            Op::Input {
                name: "x".into(),
                ty: TensorType::f32(vec![2, 3]),
            },
            &[],
        )
        .unwrap();
    let err = g
        .add(
            Op::Linear {
                weight: "w".into(),
                bias: None,
                act: Activation::Identity,
                residual: false,
            },
            &[x],
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("linear") && msg.contains("%0") && msg.contains("@w"),
        "{msg}"
    );

    let text = "graph \"t\" {\n  param @w : f32[4,5]\n  %0 = input() {name=\"x\"} : f32[2,5]\n  %1 = linear(%0, @w) : f32[2,5]\n  output %1\n}\n";
    let msg = parse_graph(text).unwrap_err().to_string();
    assert!(msg.contains("line 4") && msg.contains("f32[2,4]"), "{msg}");
    let msg = parse_graph("graph \"t\" {\n  %0 = nope() : f32[1]\n}\n")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("line 2") && msg.contains("unknown op `nope`"), "{msg}");
}

/// Shape errors are values a caller can match on: the variant says what kind of mismatch it is
/// and carries the types and parameter involved; the graph adds the node.
#[test]
fn shape_errors_name_the_mismatch_as_a_type() {
    let mut g = Graph::new("t");
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
    let (a, b) = (input(&mut g, "a", vec![2, 3]), input(&mut g, "b", vec![4, 5]));
    g.add_param("w", ParamSpec::dense(vec![4, 5])).unwrap();
    let detail = |e: IrError| match e {
        IrError::Shape { node, detail } => {
            assert!(node.contains("new"), "{node}");
            detail
        }
        other => panic!("not a shape error: {other}"),
    };
    let linear = |weight: &str| Op::Linear {
        weight: weight.into(),
        bias: None,
        act: Activation::Identity,
        residual: false,
    };
    assert_eq!(
        detail(g.add(linear("w"), &[a]).unwrap_err()),
        ShapeError::ParamShape {
            name: "w".into(),
            got: vec![4, 5],
            expected: Expected::LinearWeight {
                input: TensorType::f32(vec![2, 3])
            },
        }
    );
    assert_eq!(
        detail(g.add(linear("v"), &[a]).unwrap_err()),
        ShapeError::Undeclared { name: "v".into() }
    );
    assert!(matches!(
        detail(g.add(Op::Add, &[a, b]).unwrap_err()),
        ShapeError::Differ { op: "add", axis: Axis::Shape, ref operands } if operands.len() == 2
    ));
    let matmul = Op::MatMul {
        transpose_b: false,
        alpha: 1.0,
    };
    assert!(matches!(
        detail(g.add(matmul, &[a, b]).unwrap_err()),
        ShapeError::Product { transposed: false, .. }
    ));
    assert_eq!(
        detail(g.add(Op::SplitHeads { heads: 2 }, &[a]).unwrap_err()),
        ShapeError::Heads {
            widths: vec![3],
            heads: 2
        }
    );
    assert!(matches!(
        detail(g.add(Op::MergeHeads, &[a]).unwrap_err()),
        ShapeError::Rank {
            expected: Rank::Exactly(3),
            ..
        }
    ));
    assert_eq!(
        detail(g.add(Op::Add, &[a]).unwrap_err()),
        ShapeError::Arity { expected: 2, got: 1 }
    );
    // The message still reads as a sentence.
    let msg = g.add(Op::SplitHeads { heads: 2 }, &[a]).unwrap_err().to_string();
    assert!(msg.contains("width 3 does not split into 2 heads"), "{msg}");
}

/// Found by replaying the fuzzing corpus with overflow checks (fuzz/regressions/arch): a layer of
/// width 8e16 wrapped the element and byte counts of the cost; tensors are now bounded.
#[test]
fn a_tensor_too_large_to_count_is_refused_naming_its_shape() {
    let mut arch = canao_ir::builders::BertArch::minilm(8);
    arch.layers[1].hidden = 79_999_999_999_999_668;
    let msg = arch.build().unwrap_err().to_string();
    assert!(msg.contains("more than 2^32 elements"), "{msg}");
    let text = "graph \"t\" {\n  param @w : f32[4294967296,2]\n  %0 = input() {name=\"x\"} : f32[2]\n  output %0\n}\n";
    let msg = parse_graph(text).unwrap_err().to_string();
    assert!(msg.contains("@w") && msg.contains("2^32"), "{msg}");
}

/// Found by fuzzing (fuzz/regressions/ir_text): a NUL in an input's name was printed escaped and
/// read back as a backslash and a zero; names with quotes and backslashes drifted the same way.
#[test]
fn names_with_any_characters_print_and_parse_back_as_themselves() {
    for name in ["imag\0e", "a\"b", "back\\slash", "tab\there", "é\u{200b}"] {
        let text = format!(
            "graph {name:?} {{\n  %0 = input() {{name={name:?}}} : f32[2]\n  %1 = relu(%0) : f32[2]\n  output %1\n}}\n"
        );
        let g = parse_graph(&text).unwrap_or_else(|e| panic!("{name:?}: {e}"));
        assert_eq!(g.name(), name);
        assert!(g.to_string().contains(&format!("name={name:?}")), "{g}");
        assert_eq!(parse_graph(&g.to_string()).unwrap(), g, "{name:?}");
    }
}

/// Found by fuzzing (fuzz/regressions/ir_text): a graph without an `output` line parsed, and its
/// printed form (an empty `output` line) did not parse back.
#[test]
fn a_graph_without_outputs_is_refused() {
    let msg = parse_graph("graph \"t\" {\n  param @b : f32[6]\n}\n")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no `output` line"), "{msg}");
}

#[test]
fn cost_of_known_layers_by_hand() {
    // One linear 128x384 -> 1536 with bias and GELU: 2*128*384*1536 MACs-as-2 plus bias (1)
    // and GELU (8) per output element.
    let mut g = LinearArch {
        tokens: 128,
        input: 384,
        output: 1536,
        bias: true,
        act: Activation::Gelu,
    }
    .build()
    .unwrap();
    let y = g.outputs()[0];
    let c = g.node_cost(y);
    assert_eq!(c.flops, 2 * 128 * 384 * 1536 + 9 * 128 * 1536);
    assert_eq!(c.macs, 128 * 384 * 1536);
    assert_eq!(c.params, 1536 * 384 + 1536);
    assert_eq!(c.bytes, 4 * (128 * 384 + 128 * 1536 + 1536 * 384 + 1536));

    // The same layer block-sparse at density 1/4 costs a quarter of the product's FLOPs.
    let grid = (1536 / 16) * (384 / 16);
    let mask = BitMask((0..grid).map(|i| i % 4 == 0).collect());
    g.set_sparsity("fc.w", Sparsity::Block { block: [16, 16], mask })
        .unwrap();
    let c = g.node_cost(y);
    assert_eq!(c.flops, 2 * 128 * 384 * 1536 / 4 + 9 * 128 * 1536);
    assert_eq!(c.macs, 128 * 384 * 1536 / 4);
    assert_eq!(c.params, 1536 * 384 / 4 + 1536);

    // Circulant: FLOPs of the FFT route, multiply-accumulates of the dense product it stands for.
    g.set_sparsity("fc.w", Sparsity::Circulant { block: 16 }).unwrap();
    let c = g.node_cost(y);
    assert_eq!(c.macs, 128 * 384 * 1536);
    assert!(c.flops < 2 * c.macs / 4, "{c:?}");

    // A 3x3 conv, 2 -> 4 channels, on 1x2x5x5 without padding: 3x3 output, 2*9*2 MACs each.
    let mut g = Graph::new("conv");
    g.add_param("k", ParamSpec::dense(vec![4, 2, 3, 3])).unwrap();
    let x = g
        .add(
            Op::Input {
                name: "x".into(),
                ty: TensorType::f32(vec![1, 2, 5, 5]),
            },
            &[],
        )
        .unwrap();
    let y = g
        .add(
            Op::Conv2d {
                weight: "k".into(),
                bias: None,
                stride: 1,
                padding: 0,
            },
            &[x],
        )
        .unwrap();
    assert_eq!(g.node(y).ty.shape, vec![1, 4, 3, 3]);
    assert_eq!(g.node_cost(y).flops, 2 * 9 * (2 * 9 * 4));
    assert_eq!(g.node_cost(y).macs, 9 * (2 * 9 * 4));
}

#[test]
fn minilm_encoder_costs_about_2_87_gflop() {
    let g = BertArch::minilm(128).build().unwrap();
    let c = g.cost();
    let matmul_flops: u64 = ["linear", "matmul"].iter().map(|k| c.by_kind[*k].cost.flops).sum();
    // 6 layers x (4 * 384^2 + 2 * 384 * 1536) MACs per token + attention, all times 2.
    let expected: u64 = 6 * (2 * 128 * (4 * 384 * 384 + 2 * 384 * 1536) + 2 * 2 * 12 * 128 * 128 * 32);
    assert_eq!(matmul_flops, expected);
    assert_eq!(c.total.macs, expected / 2, "only products multiply-accumulate");
    let total = c.total.flops as f64 / 1e9;
    assert!((2.85..2.95).contains(&total), "{total} GFLOP");
    // Embeddings + 6 layers, as in the safetensors file (less the unused pooler).
    assert_eq!(c.params, 22_713_216 - 384 * 384 - 384);
}

#[test]
fn fusion_folds_bias_and_gelu_and_dce_removes_dead_nodes() {
    let mut g = tiny_bert().build().unwrap();
    let before = g.cost();
    let n = linear_epilogue().run(&mut g).unwrap();
    g.validate().unwrap();
    // Each layer: q, k, v, o, ffn.in, ffn.out biases, then the GELU; plus one projection's bias.
    assert_eq!(n, vec![("linear-bias", 2 * 6 + 1), ("linear-act", 2)]);
    assert!(!g.to_string().contains("bias_add") && !g.to_string().contains("= gelu("));
    assert!(g.to_string().contains("{act=gelu}"));
    assert_eq!(g.cost().total.params, before.total.params);

    // Make the sentence embedding dead by keeping only the hidden-state output.
    let hidden = g.outputs()[0];
    g.set_outputs(vec![hidden]).unwrap();
    let removed = DeadNodeElimination.run(&mut g).unwrap();
    assert_eq!(removed, vec![("dead-node-elimination", 2)]);
    assert_eq!(g.inputs_of_graph().len(), 3, "graph inputs survive");
    assert_eq!(
        Pipeline::standard().to_string(),
        "fuse-linear-epilogue -> dead-node-elimination"
    );
}

#[test]
fn architectures_load_from_ron_and_errors_name_the_position() {
    let text = "Bert((vocab: 50, max_positions: 16, seq: 7, hidden: 8, head_dim: 4, layers: [(hidden: 8, heads: 2, ffn: 12)]))";
    let a: Arch = from_ron(text, "arch.ron").unwrap();
    assert_eq!(a.build().unwrap().outputs().len(), 2);

    let bad = "Bert((vocab: 50, max_positions: 16, seq: 7, hidden: 8, head_dim: 4,\n layers: [(hidden: 8, heads: 2, ffn: 12, color: 3)]))";
    let msg = from_ron::<Arch>(bad, "arch.ron").unwrap_err().to_string();
    assert!(
        msg.contains("arch.ron") && msg.contains("2:") && msg.contains("color"),
        "{msg}"
    );

    let zero = BertArch {
        layers: vec![BertLayer {
            hidden: 8,
            heads: 0,
            ffn: 1,
        }],
        ..tiny_bert()
    };
    let msg = zero.build().unwrap_err().to_string();
    assert!(msg.contains("layers[0].heads"), "{msg}");
    let long = BertArch { seq: 17, ..tiny_bert() };
    assert!(long.build().unwrap_err().to_string().contains("exceed"));
}
