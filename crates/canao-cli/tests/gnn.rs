//! `canao gnn` on a small random graph: train, attack, robust and the resumable eval grid, and
//! bad input refused with errors that name it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use canao_gnn::features::Features;
use canao_gnn::{Dataset, Graph};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use common::{ok, read_json, run, scratch};

/// Two noisy communities of 30 nodes with community-leaning features, saved as a dataset file.
fn graph_file(dir: &Path) -> PathBuf {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = 60;
    let community = |i: usize| usize::from(i >= n / 2);
    let mut edges = std::collections::BTreeSet::new();
    while edges.len() < 150 {
        let (u, v) = (rng.random_range(0..n), rng.random_range(0..n));
        let p = if community(u) == community(v) { 0.9 } else { 0.1 };
        if u != v && rng.random::<f64>() < p {
            edges.insert((u.min(v), u.max(v)));
        }
    }
    let f = 8;
    let bits: Vec<u8> = (0..n * f)
        .map(|k| u8::from(rng.random::<f64>() < if (k % f) % 2 == community(k / f) { 0.6 } else { 0.2 }))
        .collect();
    let data = Dataset {
        name: "toy".into(),
        graph: Graph::new(n, edges).unwrap(),
        features: Features::from_dense_binary(n, f, &bits),
        labels: (0..n).map(|i| Some(community(i))).collect(),
        classes: 2,
        train: (0..n).filter(|i| i % 6 == 0).collect(),
        val: (0..n).filter(|i| i % 6 == 1).collect(),
        test: (0..n).filter(|i| i % 6 >= 2).collect(),
        edge_layout: canao_gnn::dataset::EdgeLayout::Rows,
    };
    let path = dir.join("toy.safetensors");
    data.save(&path).unwrap();
    path
}

/// `canao gnn train` of 40 epochs on `file` into `out`.
fn train(file: &str, out: &str, extra: &[&str]) -> Output {
    run(&[
        &["gnn", "train", "--dataset", file, "--epochs", "40", "--out", out],
        extra,
    ]
    .concat())
}

#[test]
fn train_reports_seeds_and_runs_through_the_ir() {
    let dir = scratch("train");
    let file = graph_file(&dir);
    let out = dir.join("run");
    let (f, o) = (file.to_str().unwrap(), out.to_str().unwrap());
    let backend = if cfg!(feature = "wgpu") { "wgpu" } else { "interp" };
    let o1 = train(f, o, &["--seeds", "3", "--check-backend", backend]);
    // No adapter is a skip, unless the test command installed a driver (CANAO_REQUIRE_GPU=1).
    let required = std::env::var("CANAO_REQUIRE_GPU").as_deref() == Ok("1");
    if backend == "wgpu" && !required && String::from_utf8_lossy(&o1.stderr).contains("no wgpu adapter") {
        println!("SKIP: no wgpu adapter");
        return;
    }
    ok(&o1);
    let r = read_json(&out.join("report.json"));
    assert_eq!(r["test_accuracy"]["per_seed"].as_array().unwrap().len(), 3);
    assert!(r["test_accuracy"]["mean"].as_f64().unwrap() > 0.7, "{r}");
    assert_eq!(r["ir_check"]["same_prediction"].as_f64(), Some(1.0), "{r}");
    assert!(r["ir_check"]["max_abs_logit_diff"].as_f64().unwrap() < 1e-3);
    for f in ["curve.svg", "weights.safetensors", "seeds.jsonl", "config.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // Rerun into the same folder: the seeds are kept, not trained again; fewer seeds report a
    // subset; a different run there is refused, naming the setting.
    ok(&train(f, o, &["--seeds", "3", "--check-backend", "cpu"]));
    let lines = || {
        std::fs::read_to_string(out.join("seeds.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines(), 3);
    ok(&train(f, o, &["--seeds", "2"]));
    assert_eq!(
        read_json(&out.join("report.json"))["test_accuracy"]["per_seed"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(lines(), 3);
    let other = train(f, o, &["--seeds", "3", "--hidden", "8"]);
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(
        !other.status.success() && err.contains("different run") && err.contains("config.hidden"),
        "{err}"
    );
}

#[test]
fn attacks_write_their_flips_within_budget() {
    let dir = scratch("attack");
    let file = graph_file(&dir);
    for (method, mode) in [("pgd", "evasion"), ("greedy", "poisoning"), ("zeroth-order", "evasion")] {
        let out = dir.join(method);
        let args = [
            "gnn",
            "attack",
            "--dataset",
            file.to_str().unwrap(),
            "--method",
            method,
            "--budget",
            "0.1",
            "--mode",
            mode,
        ];
        ok(&run(&[
            &args[..],
            &[
                "--epochs",
                "40",
                "--pgd-steps",
                "10",
                "--zo-steps",
                "5",
                "--out",
                out.to_str().unwrap(),
            ],
        ]
        .concat()));
        let r = read_json(&out.join("report.json"));
        let flips = r["flips"].as_u64().unwrap();
        assert!(flips > 0 && flips <= 15, "{method}: {flips} flips for a budget of 15");
        let lines = std::fs::read_to_string(out.join("flips.csv")).unwrap().lines().count() as u64;
        assert_eq!(lines, flips + 1, "{method}: header and one line per flip");
        assert!(
            r["accuracy"].as_f64().unwrap() <= r["clean_accuracy"].as_f64().unwrap() + 0.05,
            "{method}: {r}"
        );
        // The perturbation feeds back in as a poisoned graph.
        let o = run(&[
            "gnn",
            "train",
            "--dataset",
            file.to_str().unwrap(),
            "--flips",
            out.join("flips.csv").to_str().unwrap(),
            "--seeds",
            "1",
            "--epochs",
            "20",
            "--out",
            dir.join(format!("{method}-poisoned")).to_str().unwrap(),
        ]);
        ok(&o);
    }
}

#[test]
fn eval_grid_resumes_after_a_kill() {
    let dir = scratch("eval");
    let file = graph_file(&dir);
    let out = dir.join("grid");
    let args = [
        "gnn",
        "eval",
        "--dataset",
        file.to_str().unwrap(),
        "--seeds",
        "1",
        "--budgets",
        "0.05,0.1",
        "--attacks",
        "pgd,greedy",
        "--trainings",
        "normal,robust-greedy",
        "--epochs",
        "30",
        "--pgd-steps",
        "5",
        "--out",
        out.to_str().unwrap(),
    ];
    let first = ok(&run(&args));
    let cells = std::fs::read_to_string(out.join("cells.jsonl")).unwrap();
    // 2 models x 2 attacks x 2 budgets evasion cells, each with a poisoning or transfer cell.
    assert_eq!(cells.lines().count(), 16, "{cells}");
    assert!(
        first.contains("robust-greedy") && first.contains("transfer from normal"),
        "{first}"
    );
    for f in [
        "table.md",
        "report.json",
        "accuracy-pgd.svg",
        "accuracy-greedy.svg",
        "models.jsonl",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // A kill mid-write leaves a torn line; the rerun drops it, redoes that cell, and ends with
    // the same table.
    let kept: Vec<&str> = cells.lines().take(13).collect();
    std::fs::write(
        out.join("cells.jsonl"),
        format!("{}\n{{\"seed\": 0, \"trai", kept.join("\n")),
    )
    .unwrap();
    let second = ok(&run(&args));
    assert_eq!(
        std::fs::read_to_string(out.join("cells.jsonl"))
            .unwrap()
            .lines()
            .count(),
        16
    );
    assert_eq!(first, second);
}

#[test]
fn bad_input_is_refused_with_its_name() {
    let dir = scratch("bad");
    let file = graph_file(&dir);
    let f = file.to_str().unwrap();
    let err = |args: &[&str]| {
        let o = run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = err(&["gnn", "attack", "--dataset", f, "--method", "pgd", "--budget", "1.5"]);
    assert!(e.contains("outside [0, 1]"), "{e}");
    let e = err(&[
        "gnn",
        "attack",
        "--dataset",
        f,
        "--method",
        "nettack",
        "--budget",
        "0.1",
    ]);
    assert!(e.contains("unknown attack"), "{e}");
    let e = err(&["gnn", "train", "--dataset", "pubmed"]);
    assert!(e.contains("pubmed"), "{e}");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "u,v\n0,1\n0,600\n").unwrap();
    let e = err(&[
        "gnn",
        "train",
        "--dataset",
        f,
        "--flips",
        bad.to_str().unwrap(),
        "--out",
        dir.join("x").to_str().unwrap(),
    ]);
    assert!(e.contains("bad.csv") && e.contains("line 3"), "{e}");
    let e = err(&["gnn", "eval", "--dataset", f, "--trainings", "robust-nettack"]);
    assert!(e.contains("unknown training"), "{e}");
}
