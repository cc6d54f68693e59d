//! The interpreter against hand-computed cases, and passes against the unoptimised graph.

use std::collections::BTreeMap;

use canao_interp::Interpreter;
use canao_interp::random::{random_inputs, random_weights};
use canao_ir::builders::{BertArch, BertLayer, GcnArch, LeNetArch, LinearArch};
use canao_ir::pass::Pipeline;
use canao_ir::{
    Activation, BitMask, Executable, Graph, Op, ParamSpec, ParamValue, Runtime, Schedule, Sparsity, TensorType, Weights,
};
use canao_tensor::{Csr, Tensor};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn t(shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::new(shape.to_vec(), data.to_vec()).unwrap()
}

fn run(g: &Graph, w: &Weights, inputs: &[(&str, Tensor)]) -> Vec<Tensor> {
    let mut exe = Interpreter.prepare(g, w, &Schedule::default()).unwrap();
    let inputs: BTreeMap<String, Tensor> = inputs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    exe.run(&inputs).unwrap()
}

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + libm_erf(x / 2f64.sqrt()))
}

/// erf from its Maclaurin series: independent of the interpreter's libm, exact enough for |x| < 3.
fn libm_erf(x: f64) -> f64 {
    let mut sum = 0.0;
    let mut term = x;
    for n in 0..60 {
        sum += term / (2 * n + 1) as f64;
        term *= -x * x / (n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn linear_bias_gelu_by_hand() {
    let g = LinearArch {
        tokens: 1,
        input: 2,
        output: 2,
        bias: true,
        act: Activation::Gelu,
    }
    .build()
    .unwrap();
    let mut w = Weights::new();
    w.insert_dense("fc.w", t(&[2, 2], &[1.0, 0.0, 0.5, -1.0]));
    w.insert_dense("fc.b", t(&[2], &[0.0, 1.0]));
    let out = run(&g, &w, &[("x", t(&[1, 2], &[1.0, 2.0]))]);
    // y = [1*1 + 0*2 + 0, 0.5*1 - 1*2 + 1] = [1, -0.5]
    assert!((f64::from(out[0].data()[0]) - gelu(1.0)).abs() < 1e-6);
    assert!((f64::from(out[0].data()[1]) - gelu(-0.5)).abs() < 1e-6);
}

#[test]
fn masked_softmax_layer_norm_and_mean_by_hand() {
    let mut g = Graph::new("norms");
    g.add_param("g", ParamSpec::dense(vec![3])).unwrap();
    g.add_param("b", ParamSpec::dense(vec![3])).unwrap();
    let s = g
        .add(
            Op::Input {
                name: "s".into(),
                ty: TensorType::f32(vec![1, 2, 3]),
            },
            &[],
        )
        .unwrap();
    let m = g
        .add(
            Op::Input {
                name: "m".into(),
                ty: TensorType::f32(vec![3]),
            },
            &[],
        )
        .unwrap();
    let p = g.add(Op::MaskedSoftmax, &[s, m]).unwrap();
    let x = g
        .add(
            Op::Input {
                name: "x".into(),
                ty: TensorType::f32(vec![3, 3]),
            },
            &[],
        )
        .unwrap();
    let ln = g
        .add(
            Op::LayerNorm {
                gamma: "g".into(),
                beta: "b".into(),
                eps: 0.0,
            },
            &[x],
        )
        .unwrap();
    let mean = g.add(Op::MaskedMean, &[x, m]).unwrap();
    let unit = g.add(Op::L2Normalize, &[mean]).unwrap();
    g.set_outputs(vec![p, ln, unit]).unwrap();
    let mut w = Weights::new();
    w.insert_dense("g", t(&[3], &[1.0, 2.0, 1.0]));
    w.insert_dense("b", t(&[3], &[0.0, 0.0, 1.0]));
    let out = run(
        &g,
        &w,
        &[
            ("s", t(&[1, 2, 3], &[0.0, 100.0, 0.0, 1.0, 2.0, 3.0])),
            ("m", t(&[3], &[1.0, 0.0, 1.0])),
            ("x", t(&[3, 3], &[1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 3.0, 4.0, 3.0])),
        ],
    );
    // Key 1 is masked: row 0 splits evenly between keys 0 and 2; row 1 is softmax([1, 3]).
    let e = (1.0f64 / (1.0 + 2f64.exp())) as f32;
    let want = [0.5, 0.0, 0.5, e, 0.0, 1.0 - e];
    for (a, b) in out[0].data().iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{:?}", out[0].data());
    }
    // Row [1, 2, 3]: mean 2, variance 2/3, normalised [-1.2247, 0, 1.2247].
    let z = (1.5f64).sqrt() as f32;
    let want = [-z, 0.0, z + 1.0];
    for (a, b) in out[1].data()[..3].iter().zip(want) {
        assert!((a - b).abs() < 1e-5, "{:?}", out[1].data());
    }
    // Rows 0 and 2 are kept: mean [2, 3, 3], norm sqrt(22).
    let n = 22f32.sqrt();
    for (a, b) in out[2].data().iter().zip([2.0 / n, 3.0 / n, 3.0 / n]) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn conv_pool_and_spmm_by_hand() {
    let mut g = Graph::new("cnn");
    g.add_param("k", ParamSpec::dense(vec![1, 1, 2, 2])).unwrap();
    g.add_param(
        "a",
        ParamSpec {
            shape: vec![2, 2],
            sparsity: Sparsity::Csr { nnz: 3 },
        },
    )
    .unwrap();
    let x = g
        .add(
            Op::Input {
                name: "x".into(),
                ty: TensorType::f32(vec![1, 1, 3, 3]),
            },
            &[],
        )
        .unwrap();
    let c = g
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
    let p = g
        .add(
            Op::Pool {
                kind: canao_ir::PoolKind::Max,
                size: 2,
                stride: 1,
            },
            &[c],
        )
        .unwrap();
    let f = g
        .add(
            Op::Input {
                name: "f".into(),
                ty: TensorType::f32(vec![2, 2]),
            },
            &[],
        )
        .unwrap();
    let s = g.add(Op::SpMM { adj: "a".into() }, &[f]).unwrap();
    g.set_outputs(vec![c, p, s]).unwrap();
    let mut w = Weights::new();
    w.insert_dense("k", t(&[1, 1, 2, 2], &[1.0, 0.0, 0.0, -1.0]));
    w.insert(
        "a",
        ParamValue::Csr(Csr::from_triplets(2, 2, vec![(0, 0, 0.5), (0, 1, 0.5), (1, 1, 1.0)]).unwrap()),
    );
    let x = t(&[1, 1, 3, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 7.0, 8.0, 9.0]);
    let out = run(&g, &w, &[("x", x), ("f", t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]))]);
    // x[i][j] - x[i+1][j+1]
    assert_eq!(out[0].data(), &[-4.0, -5.0, -4.0, -4.0]);
    assert_eq!(out[1].data(), &[-4.0]);
    assert_eq!(out[2].data(), &[2.0, 3.0, 3.0, 4.0]);
}

#[test]
fn bad_inputs_are_typed_errors() {
    let g = BertArch {
        vocab: 10,
        max_positions: 8,
        type_vocab: 2,
        seq: 3,
        hidden: 4,
        head_dim: 2,
        layer_norm_eps: 1e-12,
        layers: vec![BertLayer {
            hidden: 4,
            heads: 2,
            ffn: 3,
        }],
    }
    .build()
    .unwrap();
    let w = random_weights(&g, &mut ChaCha8Rng::seed_from_u64(1));
    let mut exe = Interpreter.prepare(&g, &w, &Schedule::default()).unwrap();
    let mut inputs: BTreeMap<String, Tensor> = BTreeMap::new();
    inputs.insert("input_ids".into(), t(&[3], &[1.0, 2.0, 12.0]));
    inputs.insert("token_type_ids".into(), t(&[3], &[0.0; 3]));
    let err = exe.run(&inputs).unwrap_err().to_string();
    assert!(err.contains("attention_mask"), "{err}");
    inputs.insert("attention_mask".into(), t(&[3], &[1.0; 3]));
    let err = exe.run(&inputs).unwrap_err().to_string();
    assert!(err.contains("embedding") && err.contains("id 12"), "{err}");
    inputs.insert("input_ids".into(), t(&[4], &[1.0; 4]));
    assert!(exe.run(&inputs).unwrap_err().to_string().contains("input_ids"));

    let mut bad = w.clone();
    bad.insert_dense("enc.0.ffn.in.w", Tensor::zeros(vec![4, 3]));
    let err = Interpreter
        .prepare(&g, &bad, &Schedule::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("enc.0.ffn.in.w") && err.contains("[3, 4]"), "{err}");
    let mut nan = w.clone();
    nan.insert_dense("emb.ln.g", t(&[4], &[1.0, f32::NAN, 1.0, 1.0]));
    let err = Interpreter
        .prepare(&g, &nan, &Schedule::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("emb.ln.g"), "{err}");
}

/// Neither the standard pipeline (epilogue folding + DCE) nor the kernel pipeline (residual and
/// attention fusion on top) may change what a graph computes: the fused ops run in the
/// interpreter too.
fn check_pipeline_preserves(g: Graph, seed: u64, vocab: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w = random_weights(&g, &mut rng);
    let inputs = random_inputs(&g, &mut rng, vocab);
    let mut plain = Interpreter.prepare(&g, &w, &Schedule::default()).unwrap();
    let a = plain.run(&inputs).unwrap();
    for pipeline in [Pipeline::standard(), Pipeline::kernels()] {
        let mut opt_g = g.clone();
        pipeline.run(&mut opt_g).unwrap();
        let mut opt = Interpreter.prepare(&opt_g, &w, &Schedule::default()).unwrap();
        let b = opt.run(&inputs).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!(
                x.max_abs_diff(y).unwrap() < canao_tensor::tolerance::KERNEL_ABS,
                "{} through {pipeline}",
                g.name()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn pipeline_preserves_bert(seq in 1usize..9, heads in 1usize..4, ffn in 1usize..20, seed in 0u64..1000) {
        let arch = BertArch {
            vocab: 23, max_positions: 9, type_vocab: 2, seq, hidden: 6, head_dim: 3, layer_norm_eps: 1e-5,
            layers: vec![BertLayer { hidden: 6, heads, ffn }, BertLayer { hidden: 5, heads: 1, ffn: 3 }],
        };
        check_pipeline_preserves(arch.build().unwrap(), seed, 23);
    }

    #[test]
    fn pipeline_preserves_lenet_and_gcn(seed in 0u64..1000, hw in 12usize..20) {
        let lenet = LeNetArch { batch: 2, input: [1, hw, hw], conv1: 2, conv2: 3, fc1: 5, fc2: 4, classes: 3 };
        check_pipeline_preserves(lenet.build().unwrap(), seed, 0);
        let gcn = GcnArch { nodes: 11, features: 5, hidden: 4, classes: 3, nnz: 11 };
        check_pipeline_preserves(gcn.build().unwrap(), seed, 0);
    }
}

#[test]
fn sparse_parameters_run_as_their_projection() {
    let mut g = LinearArch {
        tokens: 1,
        input: 3,
        output: 3,
        bias: false,
        act: Activation::Identity,
    }
    .build()
    .unwrap();
    let mask = BitMask(vec![true, false, false, true]);
    g.set_sparsity("fc.w", Sparsity::Block { block: [2, 2], mask }).unwrap();
    let mut w = Weights::new();
    w.insert_dense("fc.w", t(&[3, 3], &[1.0; 9]));
    let out = run(&g, &w, &[("x", t(&[1, 3], &[1.0, 10.0, 100.0]))]);
    // Kept: rows 0-1 x cols 0-1 and row 2 x col 2.
    assert_eq!(out[0].data(), &[11.0, 11.0, 100.0]);
}
