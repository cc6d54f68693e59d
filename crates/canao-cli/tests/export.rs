//! `canao export` and `canao run --bundle` as a user runs them.

mod common;

use common::{ok_json, run, scratch, stderr};

const STUDENT: &str = "(layers: [
    (teacher: 0, heads: 8, ffn: 1024),
    (teacher: 3, heads: 6, ffn: 800, density: 0.5, block: Some((16, 16))),
])";

#[test]
fn a_bundled_student_runs_like_the_student_and_refuses_damage() {
    let d = scratch("bundle");
    let arch = d.join("student.ron");
    std::fs::write(&arch, STUDENT).unwrap();
    let out = d.join("bundle");
    let (arch_s, out_s) = (arch.to_str().unwrap(), out.to_str().unwrap());
    let e = ok_json(&run(&[
        "export", "--arch", arch_s, "--format", "bundle", "--out", out_s,
    ]));
    assert_eq!((e["format"].as_str(), e["layers"].as_u64()), (Some("bundle"), Some(2)));
    let text = "It's so sunny outside!";
    let bundled = ok_json(&run(&["run", "--bundle", out_s, text]));
    let direct = ok_json(&run(&["run", "--arch", arch_s, text]));
    assert_eq!(bundled["embeddings"], direct["embeddings"]);
    assert_eq!(bundled["tokens"], direct["tokens"]);
    assert_eq!(bundled["bundle"].as_str(), Some(out_s));

    let weights = out.join("weights.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let bad = run(&["run", "--bundle", out_s, text]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("weights.safetensors") && stderr(&bad).contains("truncated"),
        "{}",
        stderr(&bad)
    );
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn exports_the_best_architecture_of_a_search_report_as_onnx() {
    let d = scratch("report");
    let report = d.join("report.json");
    std::fs::write(
        &report,
        r#"{"best": {"arch": {"layers": [
              {"teacher": 1, "heads": 4, "ffn": 512, "density": 1.0, "block": null},
              {"teacher": 4, "heads": 12, "ffn": 1536, "density": 0.25, "block": [32, 32]}]},
            "accuracy": 0.8, "latency_ms": 3.1}}"#,
    )
    .unwrap();
    let onnx = d.join("model.onnx");
    let e = ok_json(&run(&[
        "export",
        "--from",
        report.to_str().unwrap(),
        "--format",
        "onnx",
        "--out",
        onnx.to_str().unwrap(),
    ]));
    assert_eq!(e["heads"], serde_json::json!([4, 12]));
    assert_eq!(e["ffn"], serde_json::json!([512, 1536]));
    assert!(
        std::fs::metadata(&onnx).unwrap().len() > 40_000_000,
        "embeddings and two layers"
    );
    let clash = run(&[
        "export", "--from", "r.json", "--arch", "a.ron", "--format", "onnx", "--out", "x",
    ]);
    assert!(!clash.status.success() && stderr(&clash).contains("--arch"));
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn an_unwritable_output_is_a_clear_error_and_leaves_nothing() {
    let d = scratch("unwritable");
    let out = d.join("no-such-folder").join("model.onnx");
    let o = run(&["export", "--format", "onnx", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot write") && stderr(&o).contains("model.onnx"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0, "nothing left behind");
    std::fs::remove_dir_all(&d).ok();
}

/// Issue 23: an existing output is not replaced silently, and the refusal comes before the model
/// is loaded.
#[test]
fn an_existing_output_is_kept_unless_forced() {
    let d = scratch("existing");
    let out = d.join("model.onnx");
    std::fs::write(&out, b"mine").unwrap();
    let o = run(&["export", "--format", "onnx", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"mine");
    std::fs::remove_dir_all(&d).ok();
}
