//! The ONNX export checked by an independent runtime (tract): a small random BERT with every
//! kind of structure (shrunk layers, block, pattern and circulant weights) at two sequence
//! lengths, batch 2 with padding, all from one file; and the bad inputs the exporter refuses.

use std::collections::BTreeMap;

use canao_export::{BERT_OUTPUTS, ExportError, encode, to_onnx};
use canao_interp::Interpreter;
use canao_ir::builders::{BertArch, BertLayer, GcnArch};
use canao_ir::pass::Pipeline;
use canao_ir::{BitMask, Executable, Graph, Runtime, Schedule, Sparsity, Weights};
use canao_tensor::Tensor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tract_onnx::prelude::*;

/// Two layers of different shape (4 heads / FFN 24, then 2 heads / FFN 10), width 16.
fn small_bert(seq: usize) -> BertArch {
    BertArch {
        vocab: 50,
        max_positions: 32,
        type_vocab: 2,
        seq,
        hidden: 16,
        head_dim: 4,
        layer_norm_eps: 1e-12,
        layers: vec![
            BertLayer {
                hidden: 16,
                heads: 4,
                ffn: 24,
            },
            BertLayer {
                hidden: 16,
                heads: 2,
                ffn: 10,
            },
        ],
    }
}

/// The structures the exporter must store dense with their zeros.
fn structures(rng: &mut StdRng) -> BTreeMap<&'static str, Sparsity> {
    let mut bits = |n: usize| BitMask((0..n).map(|_| rng.random_bool(0.5)).collect());
    let q = Sparsity::Block {
        block: [4, 4],
        mask: bits(16),
    };
    let patterns = vec![bits(9), bits(9), bits(9)];
    // ffn.in of layer 0 is [24, 16]: 3x3 tiles give an 8x6 grid (edge tiles clipped).
    let ffn = Sparsity::Pattern {
        block: [3, 3],
        patterns,
        assign: (0..48).map(|i| (i % 3) as u16).collect(),
    };
    [
        ("enc.0.attn.q.w", q),
        ("enc.0.ffn.in.w", ffn),
        ("enc.1.attn.o.w", Sparsity::Circulant { block: 4 }),
    ]
    .into()
}

fn graph_at(seq: usize, sparsity: &BTreeMap<&str, Sparsity>) -> Graph {
    let mut g = small_bert(seq).build().unwrap();
    for (p, s) in sparsity {
        g.set_sparsity(p, s.clone()).unwrap();
    }
    Pipeline::standard().run(&mut g).unwrap();
    g
}

type Runnable = TypedRunnableModel<TypedModel>;

/// Loads the ONNX bytes with no input facts: batch and seq stay symbolic, as the file says.
fn tract_model(bytes: &[u8]) -> Runnable {
    tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap()
}

/// Runs tract on a batch: (last hidden states [b, s, h], sentence embeddings [b, h]).
fn run_tract(model: &Runnable, ids: &[Vec<i64>], mask: &[Vec<i64>]) -> (Vec<f32>, Vec<f32>, Vec<usize>) {
    let (b, s) = (ids.len(), ids[0].len());
    let arr = |v: &[Vec<i64>]| {
        tract_ndarray::Array2::from_shape_vec((b, s), v.concat())
            .unwrap()
            .into_tensor()
    };
    let out = model.run(tvec!(arr(ids).into(), arr(mask).into())).unwrap();
    let hidden = out[0].to_array_view::<f32>().unwrap();
    let shape = hidden.shape().to_vec();
    let hidden = hidden.iter().copied().collect();
    let sentence = out[1].to_array_view::<f32>().unwrap().iter().copied().collect();
    (hidden, sentence, shape)
}

/// canao's outputs for one sentence: token types 0, the float mask.
fn run_canao(exe: &mut impl Executable, ids: &[i64], mask: &[i64]) -> (Vec<f32>, Vec<f32>) {
    let s = ids.len();
    let f = |v: &[i64]| Tensor::new(vec![s], v.iter().map(|&x| x as f32).collect()).unwrap();
    let inputs = BTreeMap::from([
        ("input_ids".to_string(), f(ids)),
        ("token_type_ids".to_string(), Tensor::zeros(vec![s])),
        ("attention_mask".to_string(), f(mask)),
    ]);
    let mut out = exe.run(&inputs).unwrap();
    let sentence = out.pop().unwrap().into_data();
    (out.pop().unwrap().into_data(), sentence)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn tract_matches_the_interpreter_at_two_lengths_and_batch_two() {
    let mut rng = StdRng::seed_from_u64(7);
    let sparsity = structures(&mut rng);
    let g = graph_at(1, &sparsity);
    let weights = canao_interp::random::random_weights(&g, &mut rng);
    let bytes = encode(&to_onnx(&g, &weights, &BERT_OUTPUTS).unwrap()).unwrap();
    let model = tract_model(&bytes);
    let mut worst = 0.0f32;
    for seq in [5, 11] {
        let mut exe = Interpreter
            .prepare(&graph_at(seq, &sparsity), &weights, &Schedule::default())
            .unwrap();
        let ids: Vec<Vec<i64>> = (0..2)
            .map(|_| (0..seq).map(|_| rng.random_range(0..50)).collect())
            .collect();
        // The second sentence is padded: its last two tokens are masked out.
        let mask = vec![vec![1; seq], (0..seq).map(|i| i64::from(i + 2 < seq)).collect()];
        let (hidden, sentence, shape) = run_tract(&model, &ids, &mask);
        assert_eq!(shape, [2, seq, 16]);
        for b in 0..2 {
            let (want_h, want_s) = run_canao(&mut exe, &ids[b], &mask[b]);
            worst = worst
                .max(max_diff(&hidden[b * seq * 16..(b + 1) * seq * 16], &want_h))
                .max(max_diff(&sentence[b * 16..(b + 1) * 16], &want_s));
        }
    }
    eprintln!("max |tract - interpreter| over both lengths: {worst:e}");
    assert!(worst < 1e-4, "max abs difference {worst}");
}

#[test]
fn sparse_weights_are_stored_dense_with_their_zeros_and_linear_ones_transposed() {
    let mut rng = StdRng::seed_from_u64(3);
    let sparsity = structures(&mut rng);
    let g = graph_at(1, &sparsity);
    let weights = canao_interp::random::random_weights(&g, &mut rng);
    let model = to_onnx(&g, &weights, &BERT_OUTPUTS).unwrap();
    let graph = model.graph.as_ref().unwrap();
    let init = |name: &str| graph.initializer.iter().find(|t| t.name == name).unwrap();
    let q = init("enc.0.attn.q.w.T");
    assert_eq!(q.dims, [16, 16]);
    let zeros = q.raw_data.chunks(4).filter(|b| b == &[0u8; 4]).count();
    let want = 256 - sparsity["enc.0.attn.q.w"].nnz(&[16, 16]) as usize;
    assert_eq!(zeros, want, "dropped blocks are stored as zeros");
    assert!(graph.initializer.iter().all(|t| t.name != "token_type_ids"));
    let inputs: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(inputs, ["input_ids", "attention_mask"]);
    assert_eq!(model.opset_import[0].version, 17);
}

#[test]
fn unmapped_ops_name_the_node() {
    let g = GcnArch {
        nodes: 5,
        features: 3,
        hidden: 4,
        classes: 2,
        nnz: 7,
    }
    .build()
    .unwrap();
    let w = canao_interp::random::random_weights(&g, &mut StdRng::seed_from_u64(1));
    let err = to_onnx(&g, &w, &["logits"]).unwrap_err();
    assert!(matches!(err, ExportError::Unmapped { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("(spmm)") && msg.contains("no ONNX mapping"), "{msg}");
}

#[test]
fn missing_weights_name_the_tensor() {
    let g = graph_at(1, &BTreeMap::new());
    let full = canao_interp::random::random_weights(&g, &mut StdRng::seed_from_u64(1));
    let mut w = Weights::new();
    for (name, v) in full.iter().filter(|(n, _)| *n != "enc.1.ffn.out.b") {
        w.insert(name.clone(), v.clone());
    }
    let msg = to_onnx(&g, &w, &BERT_OUTPUTS).unwrap_err().to_string();
    assert!(msg.contains("enc.1.ffn.out.b") && msg.contains("no value"), "{msg}");
    let msg = to_onnx(&g, &full, &["only_one"]).unwrap_err().to_string();
    assert!(msg.contains("output 1"), "{msg}");
}

/// A classifier (the encoder plus a head on the masked mean) exports a third output, `logits`
/// [batch, classes], equal to the interpreter's per sentence with padding in the batch.
#[test]
fn classifier_exports_logits_that_tract_agrees_with() {
    let mut rng = StdRng::seed_from_u64(21);
    let classes = 3;
    let build = |seq: usize| {
        let mut g = small_bert(seq).build_classifier(classes).unwrap();
        Pipeline::standard().run(&mut g).unwrap();
        g
    };
    let w = canao_interp::random::random_weights(&build(1), &mut rng);
    let [hidden, sentence] = BERT_OUTPUTS;
    let bytes = encode(&to_onnx(&build(1), &w, &[hidden, sentence, "logits"]).unwrap()).unwrap();
    let model = tract_model(&bytes);
    let ids = vec![vec![3, 9, 14, 2, 7], vec![5, 11, 0, 0, 0]];
    let mask = vec![vec![1, 1, 1, 1, 1], vec![1, 1, 0, 0, 0]];
    let arr = |v: &[Vec<i64>]| {
        tract_ndarray::Array2::from_shape_vec((2, 5), v.concat())
            .unwrap()
            .into_tensor()
    };
    let out = model.run(tvec!(arr(&ids).into(), arr(&mask).into())).unwrap();
    let logits = out[2].to_array_view::<f32>().unwrap();
    assert_eq!(logits.shape(), &[2, classes]);
    let logits: Vec<f32> = logits.iter().copied().collect();
    for (r, len) in [(0, 5), (1, 2)] {
        let g = build(len);
        let mut exe = Interpreter.prepare(&g, &w, &Schedule { threads: 1 }).unwrap();
        let f = |v: &[i64]| Tensor::new(vec![len], v[..len].iter().map(|&x| x as f32).collect()).unwrap();
        let inputs = BTreeMap::from([
            ("input_ids".to_string(), f(&ids[r])),
            ("token_type_ids".to_string(), Tensor::zeros(vec![len])),
            ("attention_mask".to_string(), f(&mask[r])),
        ]);
        let want = exe.run(&inputs).unwrap().pop().unwrap();
        let d = max_diff(&logits[r * classes..(r + 1) * classes], want.data());
        assert!(d < 1e-4, "sentence {r}: logits differ by {d}");
    }
}
