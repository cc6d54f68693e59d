//! The `canao` binary as a user runs it.

mod common;

use common::{run, stderr, stdout};

#[test]
fn inspect_minilm_reports_about_2_87_gflop() {
    let o = run(&["inspect", "--model", "minilm", "--seq", "128", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let gflop = v["flops"].as_f64().unwrap() / 1e9;
    assert!((2.85..2.95).contains(&gflop), "{gflop}");
    assert_eq!(v["params"].as_u64(), Some(22_565_376));
    assert!(v["by_kind"]["linear"]["count"].as_u64().unwrap() == 36);
    // The fused graph the backends lower: one attention op a layer, the residual adds in the
    // linear layers (12 of them), and the same FLOPs as the unfused graph within the adds.
    assert_eq!(v["by_kind"]["attention"]["count"].as_u64(), Some(6));
    assert!(v["by_kind"].get("matmul").is_none() && v["by_kind"].get("split_heads").is_none());
    let rewrites = v["rewrites"].as_array().unwrap();
    let fired = |rule: &str| rewrites.iter().find(|r| r["rule"] == rule).unwrap()["count"].as_u64();
    assert_eq!(fired("residual-linear"), Some(12));
    assert_eq!(fired("attention-heads"), Some(6));
    let plain = run(&[
        "inspect", "--model", "minilm", "--seq", "128", "--json", "--passes", "standard",
    ]);
    let p: serde_json::Value = serde_json::from_str(&stdout(&plain)).unwrap();
    assert_eq!(p["by_kind"]["matmul"]["count"].as_u64(), Some(12));
    assert_eq!(p["flops"], v["flops"]);
    let table = run(&["inspect", "--model", "minilm"]);
    assert!(stdout(&table).contains("total") && stdout(&table).contains("GFLOP"));
}

#[test]
fn inspect_text_is_the_parsable_ir() {
    let o = run(&["inspect", "--model", "lenet5", "--text"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let g = canao_ir::parse_graph(&stdout(&o)).unwrap();
    assert_eq!(g.name(), "lenet5");
    assert!(stdout(&o).contains("conv2d(%0, @conv1.w, @conv1.b) {stride=1, padding=2} : f32[1,6,28,28]"));
}

#[test]
fn malformed_architecture_names_file_and_position() {
    let path = std::env::temp_dir().join(format!("canao-bad-{}.ron", std::process::id()));
    std::fs::write(&path, "Bert((vocab: 10,\n  hidden: oops))").unwrap();
    let o = run(&["inspect", "--arch", path.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains(path.to_str().unwrap()) && err.contains("2:"), "{err}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn embed_json_gives_embeddings_and_published_similarity() {
    let o = run(&["embed", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let emb = v["embeddings"].as_array().unwrap();
    assert_eq!(emb.len(), 3);
    assert_eq!(emb[0].as_array().unwrap().len(), 384);
    let s = |i: usize, j: usize| v["similarity"][i][j].as_f64().unwrap();
    assert!((s(0, 1) - 0.666).abs() < 0.005 && (s(0, 2) - 0.105).abs() < 0.005 && (s(1, 2) - 0.141).abs() < 0.005);
}

#[test]
fn too_long_text_is_refused_with_the_way_out() {
    let long = "word ".repeat(600);
    let o = run(&["embed", "short", &long]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("512 positions") && err.contains("--truncate"), "{err}");
    // Numbered from 1, as `canao embed` labels its texts.
    assert!(err.contains("text [2]"), "{err}");
}

#[test]
fn unknown_asset_lists_the_known_ones() {
    let o = run(&["assets", "fetch", "imagenet"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("imagenet") && err.contains("minilm") && err.contains("fashion-mnist"),
        "{err}"
    );
}

#[test]
fn run_prints_json_and_matches_the_interpreter() {
    let cpu = run(&["run", "--model", "minilm", "--threads", "2", "It's so sunny outside!"]);
    assert!(cpu.status.success(), "{}", stderr(&cpu));
    let interp = run(&["run", "--backend", "interp", "It's so sunny outside!"]);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&stdout(&cpu)).unwrap(),
        serde_json::from_str(&stdout(&interp)).unwrap(),
    );
    assert_eq!(a["backend"], "cpu");
    assert_eq!(a["tokens"][0], 9);
    let (ea, eb) = (
        a["embeddings"][0].as_array().unwrap(),
        b["embeddings"][0].as_array().unwrap(),
    );
    let worst = ea
        .iter()
        .zip(eb)
        .map(|(x, y)| (x.as_f64().unwrap() - y.as_f64().unwrap()).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-4, "{worst}");

    let sparse = run(&["run", "--sparsity", "0.8", "--block", "16x16", "It's so sunny outside!"]);
    let s: serde_json::Value = serde_json::from_str(&stdout(&sparse)).unwrap();
    assert_eq!(
        (s["sparsity"].as_f64(), s["block"].as_str()),
        (Some(0.8), Some("16x16"))
    );
    let bad = run(&["run", "--sparsity", "0.8", "--block", "16by16", "x"]);
    assert!(!bad.status.success() && stderr(&bad).contains("16by16"));
}

#[test]
fn bench_reports_every_field_the_issue_names() {
    let o = run(&["bench", "kernels", "--quick", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for kernel in ["dense", "block", "pattern", "circulant"] {
        assert!(rows.iter().any(|r| r["kernel"] == kernel), "{kernel}");
    }
    for r in &rows {
        for key in [
            "kernel",
            "m",
            "k",
            "n",
            "density",
            "block",
            "ms",
            "gflops_dense_equiv",
            "gflops_actual",
            "speedup_vs_dense",
        ] {
            assert!(!r[key].is_null(), "{key} missing in {r}");
        }
    }
    let o = run(&[
        "bench", "model", "--model", "minilm", "--seq", "32", "--runs", "20", "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["median_ms"].as_f64().unwrap() > 0.0 && v["runs"] == 20);
    let o = run(&["bench", "model", "--backend", "interp"]);
    assert!(
        !o.status.success() && stderr(&o).contains("the oracle"),
        "{}",
        stderr(&o)
    );
    if !cfg!(feature = "wgpu") {
        let o = run(&["bench", "model", "--backend", "wgpu"]);
        assert!(
            !o.status.success() && stderr(&o).contains("--features wgpu"),
            "{}",
            stderr(&o)
        );
    }
}
