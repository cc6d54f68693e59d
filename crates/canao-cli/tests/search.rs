//! `canao search` as a user runs it: every output file, a killed run resumed, bad input refused.

use std::path::Path;
use std::process::Output;

mod common;

use common::{fresh_dir, read_json, run_in_repo, stderr};

fn small_search(out: &Path) -> Output {
    run_in_repo(&[
        "search",
        "--strategy",
        "evolution",
        "--budget",
        "4",
        "--parallel",
        "2",
        "--train",
        "24",
        "--test",
        "16",
        "--seed",
        "3",
        // The distillation of the winner fine-tunes a teacher first (minutes): not here.
        "--distill-top",
        "0",
        "--out",
        out.to_str().unwrap(),
    ])
}

fn report(dir: &Path) -> serde_json::Value {
    read_json(&dir.join("report.json"))
}

#[test]
fn search_writes_its_outputs_and_a_killed_run_resumes() {
    let dir = fresh_dir("outputs");
    let o = small_search(&dir);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["run.ron", "log.jsonl", "report.json", "pareto.svg", "curve.svg"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let r = report(&dir);
    assert_eq!(r["evaluations"], 4);
    assert_eq!(r["stop_reason"], "evaluations");
    let best = &r["best"];
    assert!(best["arch"]["layers"].is_array(), "{best}");
    for field in ["accuracy", "latency_ms", "energy_mj"] {
        assert!(best[field].as_f64().is_some(), "best.{field}: {best}");
    }
    let limit = r["latency_limit_ms"].as_f64().unwrap();
    let teacher_ms = r["teacher"]["latency_ms"].as_f64().unwrap();
    assert!(
        (limit - 0.5 * teacher_ms).abs() < 1e-9,
        "default limit is half the teacher's"
    );
    assert!(!r["pareto"].as_array().unwrap().is_empty());
    let log = std::fs::read_to_string(dir.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 4);
    assert!(log.lines().all(|l| l.contains("\"arch\"")));
    let svg = std::fs::read_to_string(dir.join("pareto.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("Pareto front"));

    // Kill it after two evaluations, mid-way through writing the third line, and resume.
    let lines: Vec<&str> = log.lines().collect();
    std::fs::write(
        dir.join("log.jsonl"),
        format!("{}\n{}\n{{\"index\":", lines[0], lines[1]),
    )
    .unwrap();
    std::fs::remove_file(dir.join("report.json")).unwrap();
    let o = run_in_repo(&["search", "--resume", dir.to_str().unwrap(), "--distill-top", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 evaluations logged before"), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("(2 in this session)"));
    let resumed = report(&dir);
    assert_eq!(resumed["evaluations"], 4);
    assert_eq!(
        resumed["best"], r["best"],
        "the resumed run ends where the whole one did"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("log.jsonl")).unwrap().lines().count(),
        4
    );

    // Starting a new run over an existing log is refused, pointing at --resume.
    let o = small_search(&dir);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_search_settings_are_refused_clearly() {
    let o = run_in_repo(&["search", "--strategy", "annealing"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("zeroth-order"),
        "lists the strategies: {}",
        stderr(&o)
    );

    let o = run_in_repo(&["search", "--latency-ms=-3", "--out", fresh_dir("neg").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--latency-ms"), "{}", stderr(&o));

    let space = fresh_dir("space").with_extension("ron");
    std::fs::write(
        &space,
        "(version: 1, name: \"x\", teacher: Minilm, seq: 128, layers: (0, 9))",
    )
    .unwrap();
    let o = run_in_repo(&["search", "--space", space.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains(space.to_str().unwrap()), "{}", stderr(&o));
    let _ = std::fs::remove_file(&space);

    let o = run_in_repo(&["search", "--resume", fresh_dir("nothing").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("run.ron"), "{}", stderr(&o));
}

#[test]
fn an_architecture_only_space_runs_a_latency_only_search() {
    let dir = fresh_dir("bert-base");
    let o = run_in_repo(&[
        "search",
        "--space",
        "search-spaces/bert-base.ron",
        "--strategy",
        "random",
        "--budget",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("latency-only"), "{}", stderr(&o));
    let r = report(&dir);
    assert_eq!(r["evaluations"], 3);
    assert_eq!(r["teacher"]["score"], 1.0, "the teacher keeps all its weights");
    let _ = std::fs::remove_dir_all(&dir);
}
