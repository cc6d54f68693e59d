//! `canao prune` and `canao compare-pruning` as a user runs them on the digits: run folders with
//! every file, the rate asked for, one table row per method and rate, typed errors for bad input.

use std::path::{Path, PathBuf};

mod common;

use common::{canao, fresh_dir, read_json};

fn prune(runs: &Path, method: &str, from: Option<&Path>) -> PathBuf {
    let out = runs.join(method);
    let mut c = canao();
    c.args(["prune", "--method", method, "--task", "digits", "--rate", "4"])
        .args(["--epochs", "1", "--retrain-epochs", "2", "--out"])
        .arg(&out);
    if let Some(from) = from {
        c.arg("--from").arg(from);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{method}: {}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn prune_runs_compare_side_by_side() {
    let runs = fresh_dir("runs");
    // The first run trains its dense model; the others prune that one.
    let slr = prune(&runs, "slr", None);
    let dense = slr.join("dense");
    for method in ["admm", "magnitude"] {
        prune(&runs, method, Some(&dense));
    }
    for method in ["slr", "admm", "magnitude"] {
        let dir = runs.join(method);
        for f in [
            "prune.json",
            "model.ron",
            "constraints.ron",
            "weights.safetensors",
            "retrain.svg",
        ] {
            assert!(dir.join(f).exists(), "{method}: {f} missing");
        }
        let r = read_json(&dir.join("report.json"));
        let p = &r["pruning"];
        // Irregular pruning of every weight at 4x: 61,470 LeNet-5 weights keep round(n / 4) each.
        let rate = p["compression_pruned_layers"].as_f64().unwrap();
        assert!((rate - 4.0).abs() < 1e-3, "{method}: {rate}");
        assert_eq!(p["accuracy_per_epoch"].as_array().unwrap().len(), 2, "{method}");
        assert!(p["test_accuracy"].as_f64().unwrap() > 0.5, "{method}: {p}");
        assert!(r["cpu_latency"]["pruned_ms"].as_f64().unwrap() > 0.0);
    }
    let o = canao().args(["compare-pruning", "--runs"]).arg(&runs).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = std::fs::read_to_string(runs.join("pruning.md")).unwrap();
    for method in ["slr", "admm", "magnitude"] {
        let rows = table
            .lines()
            .filter(|l| l.starts_with(&format!("| {method} | irregular | 4x")))
            .count();
        assert_eq!(rows, 1, "{method}:\n{table}");
    }
    for f in ["accuracy-vs-compression.svg", "retrain-epochs.svg"] {
        assert!(runs.join(f).exists(), "{f} missing");
    }
}

#[test]
fn bad_input_gets_an_error_naming_it() {
    let cases: [(&[&str], &str); 10] = [
        (&["--method", "lasso"], "invalid value 'lasso' for '--method"),
        (&["--structure", "block:0x4"], "block"),
        (&["--rate", "0.5"], "rate"),
        (&["--structure", "filter", "--rate", "1000"], "conv1.w"),
        (&["--model", "minilm"], "--task digits: minilm takes rotten-tomatoes"),
        (&["--model", "minilm", "--structure", "filter"], "--structure filter"),
        (&["--layer-rate", "conv1.w"], "is not NAME=RATE"),
        (&["--layer-rate", "fc9.w=4"], "fc9.w"),
        (&["--structure", "circulant:4", "--rate", "8"], "drop --rate"),
        (
            &["--structure", "circulant:4", "--method", "dynamic"],
            "--method dynamic",
        ),
    ];
    for (args, want) in cases {
        let out = fresh_dir("bad");
        let o = canao()
            .args(["prune", "--task", "digits"])
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(want), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?}: a refused run left {} behind", out.display());
    }
    let o = canao()
        .args(["compare-pruning", "--runs"])
        .arg(fresh_dir("empty-missing"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("canao-cli-empty-missing"), "{err}");
}
