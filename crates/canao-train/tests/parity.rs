//! burn's models against canao's reference interpreter and CPU backend: the same weights give
//! the same last hidden states and logits.

mod common;

use canao_cpu::CpuRuntime;
use canao_interp::Interpreter;
use canao_ir::builders::LeNetArch;
use canao_models::{LengthPolicy, MiniLm, assets};
use canao_train::{BertClassifier, LeNet, add_head, params};
use common::*;

/// Named tolerance of the issue: burn against the interpreter, and trained weights on the CPU
/// backend against burn.
const PARITY: f32 = 1e-4;

#[test]
fn tiny_bert_matches_the_interpreter_and_the_cpu_backend() {
    let arch = tiny_bert();
    let seq = 9;
    let g = arch.with_seq(seq).build_classifier(3).unwrap();
    let w = weights_for(&g, 1);
    let model = BertClassifier::load(&arch, 3, &w, &device()).unwrap();
    let batch = random_batch(4, seq, arch.vocab, 2);
    let out = model.forward(&batch, None);
    let hidden = values(out.layers.last().unwrap());
    let logits = values(&out.logits);
    let width = arch.layers.last().unwrap().hidden;
    for r in 0..batch.batch {
        let inputs = row_inputs(&batch, r);
        for (name, got) in [
            ("interpreter", run_ir(&Interpreter, &g, &w, &inputs)),
            ("cpu", run_ir(&CpuRuntime, &g, &w, &inputs)),
        ] {
            let h = &hidden[r * seq * width..(r + 1) * seq * width];
            let d = max_diff(h, got[0].data());
            assert!(d < PARITY, "{name}: hidden states of row {r} differ by {d}");
            let d = max_diff(&logits[r * 3..(r + 1) * 3], got[2].data());
            assert!(d < PARITY, "{name}: logits of row {r} differ by {d}");
        }
    }
}

#[test]
fn weights_round_trip_exactly_and_keep_their_names() {
    let arch = tiny_bert();
    let g = arch.build_classifier(2).unwrap();
    let w = weights_for(&g, 3);
    let model = BertClassifier::load(&arch, 2, &w, &device()).unwrap();
    assert_eq!(params::export(&model), w);
    let lenet = LeNetArch::default();
    let w = canao_train::init_lenet(&lenet, 4).unwrap();
    w.check_against(&lenet.build().unwrap()).unwrap();
    assert_eq!(params::export(&LeNet::load(&lenet, &w, &device()).unwrap()), w);
}

#[test]
fn lenet_matches_the_interpreter() {
    let arch = LeNetArch {
        batch: 2,
        ..LeNetArch::default()
    };
    let g = arch.build().unwrap();
    let w = weights_for(&g, 5);
    let model = LeNet::load(&arch, &w, &device()).unwrap();
    let inputs = canao_interp::random::random_inputs(
        &g,
        &mut <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(6),
        1,
    );
    let image = &inputs["image"];
    let x = burn::tensor::Tensor::<4>::from_data(
        burn::tensor::TensorData::new(image.data().to_vec(), [2, 1, 28, 28]),
        &device(),
    );
    let got = values(&model.forward(x));
    let want = run_ir(&Interpreter, &g, &w, &inputs);
    let d = max_diff(&got, want[0].data());
    assert!(d < PARITY, "LeNet logits differ by {d}");
}

/// The real all-MiniLM-L6-v2 in burn against the interpreter's last hidden states.
#[test]
fn minilm_in_burn_matches_the_interpreter() {
    let minilm = MiniLm::from_cache(&assets::canao_home(), &mut |l| eprintln!("{l}")).unwrap();
    let arch = minilm.arch(1);
    let mut w = minilm.weights().clone();
    add_head(&mut w, &arch, 2, 0);
    let model = BertClassifier::load(&arch, 2, &w, &device()).unwrap();
    let texts = [
        "The weather is lovely today.",
        "A tedious, overlong film that never finds its footing.",
    ]
    .map(String::from);
    let encoded = minilm.tokenize(&texts, LengthPolicy::Refuse).unwrap();
    let refs: Vec<_> = encoded.iter().collect();
    let batch = canao_train::text_task::token_batch(&refs);
    let out = model.forward(&batch, None);
    let hidden = values(out.layers.last().unwrap());
    let seq = batch.seq;
    for (r, enc) in encoded.iter().enumerate() {
        let n = enc.ids.len();
        let g = minilm.graph(n).unwrap();
        let want = run_ir(&Interpreter, &g, minilm.weights(), &MiniLm::inputs(enc).unwrap());
        // burn ran the batch padded to `seq`; compare the text's own positions.
        let got = &hidden[r * seq * 384..(r * seq + n) * 384];
        let d = max_diff(got, want[0].data());
        assert!(d < PARITY, "text {r}: last hidden states differ by {d}");
    }
}
