//! `canao train` as a user runs it: a run folder with every file the issue names, a `--resume`
//! after `kill -9` that ends like an uninterrupted run, and typed errors for bad input.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;

use common::{canao, fresh_dir, read_json};

fn report(dir: &Path) -> serde_json::Value {
    read_json(&dir.join("report.json"))
}

const ARGS: [&str; 8] = [
    "train",
    "--model",
    "lenet5",
    "--task",
    "digits",
    "--epochs",
    "4",
    "--checkpoint-every",
];

#[test]
fn a_run_killed_with_sigkill_resumes_to_the_uninterrupted_result() {
    let whole = fresh_dir("whole");
    let o = canao().args(ARGS).args(["3", "--out"]).arg(&whole).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "run.json",
        "model.ron",
        "split.json",
        "metrics.jsonl",
        "report.json",
        "curve.svg",
        "weights.safetensors",
    ] {
        assert!(whole.join(f).exists(), "{f} missing");
    }
    let split: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("split.json")).unwrap()).unwrap();
    assert_eq!(split["sizes"]["test"], 270);

    let killed = fresh_dir("killed");
    let mut child = canao()
        .args(ARGS)
        .args(["3", "--out"])
        .arg(&killed)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as a checkpoint beyond the first epoch exists.
    let start = Instant::now();
    let latest = killed.join("checkpoints").join("latest");
    loop {
        let step = std::fs::read_to_string(&latest)
            .ok()
            .and_then(|s| s.trim().strip_prefix("step-").and_then(|n| n.parse::<u64>().ok()));
        if step.is_some_and(|s| s > 20) || start.elapsed() > Duration::from_secs(120) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("report.json").exists(),
        "the run finished before it was killed"
    );
    let o = canao().args(["train", "--resume"]).arg(&killed).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (report(&whole), report(&killed));
    assert_eq!(a["test_accuracy"], b["test_accuracy"]);
    assert_eq!(a["validation_curve"], b["validation_curve"]);
    assert_eq!(
        std::fs::read(whole.join("weights.safetensors")).unwrap(),
        std::fs::read(killed.join("weights.safetensors")).unwrap()
    );
}

#[test]
fn bad_input_gets_an_error_naming_it() {
    let cases: [(&[&str], &str); 4] = [
        (&["train", "--task", "imagenet"], "task `imagenet` does not exist"),
        (
            &["train", "--model", "lenet5", "--task", "rotten-tomatoes"],
            "does not fit task `rotten-tomatoes`",
        ),
        (
            &[
                "train",
                "--model",
                "lenet5",
                "--task",
                "digits",
                "--train-limit",
                "5000",
            ],
            "asked for 5000 Train items, the split has 1257",
        ),
        (
            &["train", "--model", "lenet5", "--task", "digits", "--batch", "0"],
            "`batch` must be at least 1",
        ),
    ];
    for (args, want) in cases {
        let o = canao()
            .args(args)
            .args(["--out"])
            .arg(fresh_dir("bad"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(want), "{args:?}: {err}");
    }
    // A student outside the teacher is refused before a run folder is made.
    let student = std::env::temp_dir().join(format!("canao-bad-student-{}.ron", std::process::id()));
    std::fs::write(&student, "(layers: [(teacher: 0, heads: 13, ffn: 100)])").unwrap();
    let out = fresh_dir("bad-student");
    let o = canao()
        .args(["train", "--arch"])
        .arg(&student)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("layers[0].heads"), "{err}");
    assert!(!out.exists(), "a refused run left {} behind", out.display());
}
