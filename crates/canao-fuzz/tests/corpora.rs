//! Replays the committed fuzzing corpora (`fuzz/corpus/<target>/`) and every input that ever
//! crashed a target (`fuzz/regressions/<target>/`) through the targets: fast, and on stable Rust.

use std::path::{Path, PathBuf};

fn fuzz_dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join(target)
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable corpus folder").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_input_parses_or_is_refused_without_a_panic() {
    for (target, run) in canao_fuzz::TARGETS {
        let corpus = inputs(&fuzz_dir("corpus", target));
        assert!(!corpus.is_empty(), "fuzz/corpus/{target} has no seeds");
        for path in corpus.iter().chain(&inputs(&fuzz_dir("regressions", target))) {
            let data = std::fs::read(path).unwrap();
            // A panic here names the input through the test's output.
            eprintln!("{target}: {}", path.display());
            run(&data);
        }
    }
}
