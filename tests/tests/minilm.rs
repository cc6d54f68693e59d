//! all-MiniLM-L6-v2 end to end: the reference interpreter against an independent f64 forward
//! pass, and the published similarity figures.

use canao_interp::Interpreter;
use canao_ir::Schedule;
use canao_models::{LengthPolicy, MiniLm};
use canao_tensor::tolerance;
use canao_tests::{minilm_dir, reference_hidden};

#[test]
fn hidden_states_match_an_independent_f64_forward_pass() {
    let dir = minilm_dir();
    let model = MiniLm::load(&dir).unwrap();
    let texts = vec!["canao compiles pruned transformers into fast kernels.".to_string()];
    let emb = model
        .embed(&Interpreter, &Schedule::default(), &texts, LengthPolicy::Refuse)
        .unwrap();
    let ids = model.tokenize(&texts, LengthPolicy::Refuse).unwrap().remove(0).ids;
    assert_eq!(ids.first(), Some(&101), "[CLS] first");
    assert_eq!(ids.last(), Some(&102), "[SEP] last");
    let want = reference_hidden(&dir, &ids, 6, 12, 1e-12);
    let got = &emb.hidden[0];
    assert_eq!(got.shape(), &[ids.len(), 384]);
    let mut worst = 0.0f64;
    for (row, wrow) in got.data().chunks(384).zip(&want) {
        for (g, w) in row.iter().zip(wrow) {
            worst = worst.max((f64::from(*g) - w).abs());
        }
    }
    eprintln!("max abs difference to the f64 reference: {worst:e}");
    assert!(worst < f64::from(tolerance::ORACLE_ABS), "max abs difference {worst}");
}

#[test]
fn quick_start_sentences_give_the_published_cosines() {
    let model = MiniLm::load(&minilm_dir()).unwrap();
    let texts: Vec<String> = [
        "The weather is lovely today.",
        "It's so sunny outside!",
        "He drove to the stadium.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let sim = model
        .embed(&Interpreter, &Schedule::default(), &texts, LengthPolicy::Refuse)
        .unwrap()
        .similarity();
    for (i, j, published) in [(0, 1, 0.666), (0, 2, 0.105), (1, 2, 0.141)] {
        assert!(
            (sim[i][j] - published).abs() < tolerance::PUBLISHED_COSINE,
            "({i},{j}) = {}",
            sim[i][j]
        );
    }
}

#[test]
fn long_inputs_are_refused_or_truncated_on_request() {
    let model = MiniLm::load(&minilm_dir()).unwrap();
    let long = vec!["word ".repeat(600)];
    let err = model.tokenize(&long, LengthPolicy::Refuse).unwrap_err().to_string();
    assert!(
        err.contains("602 tokens") && err.contains("512 positions") && err.contains("--truncate"),
        "{err}"
    );
    let enc = model.tokenize(&long, LengthPolicy::Truncate).unwrap().remove(0);
    assert_eq!(enc.ids.len(), 512);
    assert_eq!(enc.ids.last(), Some(&102), "[SEP] kept");
    // The tokenizer file's own truncation to 128 is off.
    let mid = model
        .tokenize(&["word ".repeat(200)], LengthPolicy::Refuse)
        .unwrap()
        .remove(0);
    assert_eq!(mid.ids.len(), 202);
}

#[test]
fn cpu_backend_matches_the_interpreter_dense_and_sparse() {
    use canao_cpu::CpuRuntime;
    let mut model = MiniLm::load(&minilm_dir()).unwrap();
    let texts: Vec<String> = ["The weather is lovely today.", "canao turns block sparsity into speed."]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let check = |model: &MiniLm, threads: usize| {
        let want = model
            .embed(&Interpreter, &Schedule::default(), &texts, LengthPolicy::Refuse)
            .unwrap();
        let got = model
            .embed(&CpuRuntime, &Schedule { threads }, &texts, LengthPolicy::Refuse)
            .unwrap();
        for (a, b) in got.vectors.iter().zip(&want.vectors) {
            let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(worst < tolerance::KERNEL_ABS, "embedding differs by {worst}");
        }
        for (a, b) in got.hidden.iter().zip(&want.hidden) {
            assert!(a.max_abs_diff(b).unwrap() < tolerance::MODEL_ABS);
        }
    };
    check(&model, 1);
    for p in model.prunable() {
        let w = model.weights().dense(&p).unwrap().clone();
        model
            .set_sparsity(&p, canao_compress::block_magnitude(&p, &w, [16, 16], 0.8).unwrap())
            .unwrap();
    }
    check(&model, 2);
}
