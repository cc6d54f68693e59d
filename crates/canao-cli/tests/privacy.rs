//! `canao privacy fl`, `leak` and `mia` as a user runs them on the digits: the run folder with every file, the
//! report's figures against its log, a rerun with more rounds extending the run, and typed
//! errors for bad input.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::{canao, fails_with, fresh_dir, ok, read_json};

/// `canao privacy fl` on the digits with 3 clients, 1 local epoch and the adversary.
fn fl_command(out: &Path, extra: &[&str]) -> Command {
    let mut c = canao();
    c.args([
        "privacy",
        "fl",
        "--task",
        "digits",
        "--clients",
        "3",
        "--local-epochs",
        "1",
    ])
    .args(["--adversary", "--out"])
    .arg(out)
    .args(extra);
    c
}

fn fl(out: &Path, extra: &[&str]) -> Output {
    fl_command(out, extra).output().unwrap()
}

fn err(o: &Output) -> String {
    fails_with(o, &[])
}

#[test]
fn federated_run_writes_its_folder_and_extends_with_more_rounds() {
    let out = fresh_dir("run");
    ok(&fl(&out, &["--rounds", "2", "--density", "0.05"]));
    for f in [
        "config.json",
        "keys.bin",
        "partition.json",
        "rounds.jsonl",
        "report.json",
        "accuracy.svg",
        "upload.svg",
        "model-sparse.safetensors",
        "model-dense.safetensors",
        "index.html",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    assert_eq!(std::fs::metadata(out.join("keys.bin")).unwrap().len(), 3 * 32);
    let r = read_json(&out.join("report.json"));
    assert_eq!(r["rounds_done"], 2);
    let (up, dense_up) = (r["bytes_up"].as_f64().unwrap(), r["dense_bytes_up"].as_f64().unwrap());
    assert!(up < 0.12 * dense_up, "sparse {up} against dense {dense_up}");
    assert!((r["upload_saved"].as_f64().unwrap() - (1.0 - up / dense_up)).abs() < 1e-12);
    assert_eq!(r["sparse"]["rejected"]["tampered"], 2, "{r}");
    assert_eq!(r["sparse"]["rejected"]["wrong-round"], 1, "{r}");
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("federated learning"), "the page names the run kind");

    // More rounds extend the run; the first two rounds are kept as they were.
    let before = std::fs::read_to_string(out.join("rounds.jsonl")).unwrap();
    ok(&fl(&out, &["--rounds", "3", "--density", "0.05"]));
    let after = std::fs::read_to_string(out.join("rounds.jsonl")).unwrap();
    assert!(after.starts_with(&before));
    assert_eq!(after.lines().count(), 6);
    assert_eq!(read_json(&out.join("report.json"))["rounds_done"], 3);
    // Another setting is another run.
    let e = err(&fl(&out, &["--rounds", "3", "--density", "0.05", "--seed", "9"]));
    assert!(e.contains("holds a different run") && e.contains("fl.seed"), "{e}");
}

/// `rounds.jsonl` without the wall times, which differ between runs.
fn rounds_without_time(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("rounds.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("wall_s");
            v
        })
        .collect()
}

#[test]
fn a_run_killed_with_sigkill_resumes_to_the_uninterrupted_result() {
    let base = fresh_dir("kill");
    std::fs::create_dir_all(&base).unwrap();
    let keys = base.join("keys.bin");
    std::fs::write(&keys, (0..96u8).collect::<Vec<_>>()).unwrap();
    let args = ["--rounds", "5", "--keys", keys.to_str().unwrap()];
    let whole = base.join("whole");
    ok(&fl(&whole, &args));

    let killed = base.join("killed");
    let mut child = fl_command(&killed, &args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the first round is saved and before the last.
    let log = killed.join("rounds.jsonl");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&log).map_or(0, |t| t.lines().count()) < 2 {
        assert!(started.elapsed().as_secs() < 300, "no round finished in 5 minutes");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = rounds_without_time(&killed).len();
    assert!(done < 10, "the run finished before it was killed ({done} rows)");
    ok(&fl(&killed, &args));
    assert_eq!(rounds_without_time(&killed), rounds_without_time(&whole));
    for arm in ["sparse", "dense"] {
        let f = format!("model-{arm}.safetensors");
        assert_eq!(
            std::fs::read(whole.join(&f)).unwrap(),
            std::fs::read(killed.join(&f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn bad_input_is_a_typed_error_naming_it() {
    let out = fresh_dir("bad");
    let e = err(&fl(&out.join("a"), &["--density", "0"]));
    assert!(e.contains("density") && e.contains("(0, 1]"), "{e}");
    let e = err(&fl(&out.join("b"), &["--density", "1.5"]));
    assert!(e.contains("density"), "{e}");
    let e = err(&fl(&out.join("c"), &["--partition", "zipf"]));
    assert!(e.contains("zipf") && e.contains("dirichlet"), "{e}");
    let e = err(&fl(&out.join("d"), &["--alpha=-1"]));
    assert!(e.contains("alpha") && e.contains("positive"), "{e}");
    assert!(
        !out.join("d").join("config.json").exists(),
        "nothing written for a bad setting"
    );
    std::fs::create_dir_all(&out).unwrap();
    let keys = out.join("short.key");
    std::fs::write(&keys, [7u8; 40]).unwrap();
    let e = err(&fl(&out.join("e"), &["--keys", keys.to_str().unwrap()]));
    assert!(
        e.contains("short.key") && e.contains("40 bytes; 3 clients need 96"),
        "{e}"
    );
    let e = err(&canao()
        .args(["privacy", "fl", "--task", "rotten-tomatoes", "--out"])
        .arg(out.join("f"))
        .output()
        .unwrap());
    assert!(e.contains("rotten-tomatoes"), "{e}");

    // A corrupt checkpoint names its file.
    let run = out.join("g");
    ok(&fl(&run, &["--rounds", "1"]));
    std::fs::write(run.join("state").join("state.json"), b"{ not json").unwrap();
    let e = err(&fl(&run, &["--rounds", "2"]));
    assert!(e.contains("state.json"), "{e}");
    let run = out.join("h");
    ok(&fl(&run, &["--rounds", "1"]));
    std::fs::write(run.join("state").join("sparse.safetensors"), b"garbage").unwrap();
    let e = err(&fl(&run, &["--rounds", "2"]));
    assert!(e.contains("sparse.safetensors"), "{e}");
}

fn mia(out: &Path, extra: &[&str]) -> Output {
    canao()
        .args([
            "privacy", "mia", "--task", "digits", "--pool", "200", "--refs", "2", "--epochs", "2",
        ])
        .args(["--sparsity", "0.5", "--retrain-epochs", "1", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn membership_inference_reports_every_attack_on_every_target() {
    let out = fresh_dir("mia");
    ok(&mia(&out, &[]));
    for f in [
        "attacks.jsonl",
        "report.json",
        "roc-loss.svg",
        "roc-confidence.svg",
        "roc-lira.svg",
        "index.html",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let r = read_json(&out.join("report.json"));
    let rows = r["attacks"].as_array().unwrap();
    assert_eq!(rows.len(), 9, "dense, pruned-50 and dp-sgd, three attacks each");
    assert!(r["dp_sgd_spent"]["epsilon"].as_f64().unwrap() > 0.0, "{r}");
    for row in rows {
        for k in [
            "auc",
            "tpr_at_0.1pct_fpr",
            "tpr_at_1pct_fpr",
            "attack_accuracy",
            "test_accuracy",
        ] {
            let v = row[k].as_f64().unwrap_or(f64::NAN);
            assert!((0.0..=1.0).contains(&v), "{k} = {v} in {row}");
        }
    }
    // The models are cached: a rerun trains nothing and reports the same figures.
    let before = std::fs::read_to_string(out.join("attacks.jsonl")).unwrap();
    ok(&mia(&out, &[]));
    assert_eq!(std::fs::read_to_string(out.join("attacks.jsonl")).unwrap(), before);

    for (args, want) in [
        (&["--pool", "99999"][..], "--pool 99999"),
        (&["--pool", "200", "--refs", "1"][..], "--refs 1"),
        (&["--pool", "200", "--sparsity", "1"][..], "--sparsity 1"),
        (&["--pool", "200", "--dp-clip", "0"][..], "clip"),
    ] {
        let o = canao()
            .args(["privacy", "mia", "--task", "digits", "--out"])
            .arg(fresh_dir("mia-bad"))
            .args(args)
            .output()
            .unwrap();
        let e = err(&o);
        assert!(e.contains(want), "{e}");
    }
}

/// `canao privacy leak` on the digits: one sigmoid victim, untrained and after one epoch,
/// dense and top-k 10 % gradients, both attacks, three images, short attacks; `set` replaces or
/// adds settings (clap refuses a flag given twice).
fn leak(out: &Path, set: &[(&str, &str)]) -> Output {
    let mut args = vec![
        ("--task", "digits"),
        ("--images", "3"),
        ("--phase", "untrained,1"),
        ("--act", "sigmoid"),
        ("--init", "uniform"),
        ("--train-images", "300"),
        ("--iters", "40"),
        ("--density", "1,0.1"),
    ];
    for &(flag, value) in set {
        match args.iter_mut().find(|(f, _)| *f == flag) {
            Some(slot) => slot.1 = value,
            None => args.push((flag, value)),
        }
    }
    let mut c = canao();
    c.args(["privacy", "leak", "--out"]).arg(out);
    args.iter().for_each(|(f, v)| {
        c.args([f, v]);
    });
    c.output().unwrap()
}

#[test]
fn gradient_leakage_reports_both_attacks_per_phase_and_resumes() {
    let out = fresh_dir("leak");
    ok(&leak(&out, &[]));
    for f in [
        "config.json",
        "rows.jsonl",
        "report.json",
        "psnr.svg",
        "grid-sigmoid-uniform-d1.png",
        "grid-sigmoid-uniform-d0.1.png",
        "victims/sigmoid-uniform-epoch-1.json",
        "index.html",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let png = std::fs::read(out.join("grid-sigmoid-uniform-d1.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let r = read_json(&out.join("report.json"));
    let summary = r["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 8, "2 phases x 2 densities x 2 attacks: {r}");
    for s in summary {
        assert_eq!(s["images"], 3, "{s}");
        let share = s["beats_baselines"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&share), "{s}");
        assert!(
            s["psnr"].as_f64().unwrap().is_finite() && s["grey_psnr"].as_f64().unwrap() > 0.0,
            "{s}"
        );
    }
    assert_eq!(r["stops_beating_baselines_at"].as_array().unwrap().len(), 4, "{r}");
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("gradient leakage") && page.contains("grid-sigmoid-uniform-d1.png"));

    // Finished rows are not redone; one more image adds only its rows.
    let before = std::fs::read_to_string(out.join("rows.jsonl")).unwrap();
    ok(&leak(&out, &[]));
    assert_eq!(std::fs::read_to_string(out.join("rows.jsonl")).unwrap(), before);
    ok(&leak(&out, &[("--images", "4")]));
    let lines = std::fs::read_to_string(out.join("rows.jsonl")).unwrap().lines().count();
    assert_eq!(lines, 8 * 4);

    for (flag, value, want) in [
        ("--attack", "idlg", "idlg"),
        ("--density", "0", "density"),
        ("--phase", "soon", "soon"),
        ("--act", "tanh", "tanh"),
        ("--iters", "0", "iters"),
        ("--optimiser", "sgd", "sgd"),
        ("--images", "100000", "--images"),
    ] {
        let e = err(&leak(&fresh_dir("leak-bad"), &[(flag, value)]));
        assert!(e.contains(want), "{want}: {e}");
    }
}
