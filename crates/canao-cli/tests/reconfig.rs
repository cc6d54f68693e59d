//! `canao reconfig replay` on a shipped trace: every model replays every request, only the
//! reconfigurable one switches (once per level change), and bad traces or settings are refused
//! naming what is wrong. `canao reconfig search` on a small fine-tuned backbone: choices that
//! meet the limits are trained, the run resumes, bad settings are refused; `canao reconfig run`
//! makes the best choice real: the CPU backend gives burn's test accuracy on every level. No
//! timing is asserted.

mod common;

use common::{fails_with, fresh_dir, read_json, run_in_repo, stderr};

#[test]
fn a_shipped_trace_replays_against_the_three_models() {
    let dir = fresh_dir("thermal");
    let o = run_in_repo(&[
        "reconfig",
        "replay",
        "--trace",
        "device-profiles/traces/thermal-throttle.csv",
        "--seq",
        "32",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let models = r["models"].as_array().unwrap();
    assert_eq!(models.len(), 3);
    let switch = r["switch_ms_measured_here"].as_f64().unwrap();
    assert!(switch.is_finite() && switch >= 0.0, "{switch}");
    for m in models {
        assert_eq!(m["replay"]["requests"], 240, "{m}");
        assert_eq!(m["latency_ms_per_level"].as_array().unwrap().len(), 3);
        assert_eq!(m["runs_per_battery_per_level"].as_array().unwrap().len(), 3);
    }
    // The trace steps down twice between requests: only the reconfigurable model switches.
    assert_eq!(models[0]["replay"]["switches"], 2, "{}", models[0]);
    assert_eq!(models[1]["replay"]["switches"], 0);
    // The run folder: a row per model, the plots and the page.
    let rows = std::fs::read_to_string(dir.join("replay.jsonl")).unwrap();
    assert_eq!(rows.lines().count(), 3, "{rows}");
    for plot in ["latency.svg", "energy.svg", "missed.svg"] {
        let svg = std::fs::read_to_string(dir.join(plot)).unwrap();
        assert!(svg.contains("reconfigurable") && svg.contains("dense"), "{plot}");
    }
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(page.contains("DVFS trace replay run") && page.contains("replay.jsonl"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_traces_and_settings_are_refused() {
    let dir = fresh_dir("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("t.csv");
    std::fs::write(&trace, "0,level,0\n10,request,50\n20,level,7\n").unwrap();
    let out = dir.join("out");
    let o = run_in_repo(&[
        "reconfig",
        "replay",
        "--trace",
        trace.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("t.csv:3") && stderr(&o).contains("DVFS levels"),
        "{}",
        stderr(&o)
    );
    let o = run_in_repo(&[
        "reconfig",
        "replay",
        "--trace",
        "device-profiles/traces/thermal-throttle.csv",
        "--sparsity",
        "0.5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("one --sparsity per level"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A one-layer student of MiniLM fine-tuned on 16 snippets: a backbone fast enough to search.
fn backbone(dir: &std::path::Path) -> std::path::PathBuf {
    let arch = dir.join("student.ron");
    std::fs::write(&arch, "(layers: [(teacher: 0, heads: 4, ffn: 256)])").unwrap();
    let run = dir.join("backbone");
    let o = run_in_repo(&[
        "train",
        "--model",
        "minilm",
        "--arch",
        arch.to_str().unwrap(),
        "--epochs",
        "1",
        "--train-limit",
        "16",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    run
}

fn search(from: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let args = [
        &[
            "reconfig",
            "search",
            "--from",
            from.to_str().unwrap(),
            "--seq",
            "16",
            "--maps",
            "2",
            "--patterns",
            "2",
            "--sparsity",
            "0.5,0.87",
            "--train-items",
            "8",
            "--eval-items",
            "8",
            "--strategy",
            "random",
            "--out",
            out.to_str().unwrap(),
        ],
        extra,
    ]
    .concat();
    run_in_repo(&args)
}

#[test]
fn a_search_trains_the_choices_that_meet_the_limits_and_resumes() {
    let dir = fresh_dir("search");
    std::fs::create_dir_all(&dir).unwrap();
    let from = backbone(&dir);
    let out = dir.join("run");
    let o = search(&from, &out, &["--budget", "2", "--limits", "1000,1000,1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&out.join("report.json"));
    assert_eq!(r["choices"], 2, "{r}");
    assert_eq!(r["trained"], 2, "every choice meets 1 s limits: {r}");
    let levels = r["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 3);
    for l in levels {
        let a = l["best_trained_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&a), "{l}");
        let ms = l["best_trained_ms"].as_f64().unwrap();
        assert!(ms > 0.0 && l["dense_ms"].as_f64().unwrap() > 0.0, "{l}");
    }
    let dense = r["dense"]["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&dense));
    for f in ["curve.svg", "levels.svg", "tradeoff.svg", "index.html", "config.json"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let tradeoff = std::fs::read_to_string(out.join("tradeoff.svg")).unwrap();
    assert!(
        tradeoff.contains("trained choice") && tradeoff.contains("dense backbone"),
        "tradeoff.svg lacks its series"
    );
    assert!(
        !out.join("training-scratch").exists(),
        "the scratch training folder is left behind"
    );
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        page.contains("RT3 pattern-set search") && page.contains("log.jsonl"),
        "{page}"
    );

    // Rerun with a larger budget: the two logged choices are kept, one more is evaluated.
    let o = search(&from, &out, &["--budget", "3", "--limits", "1000,1000,1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 choices logged before"), "{}", stderr(&o));
    let log = std::fs::read_to_string(out.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");

    // Limits no choice can meet: nothing is trained, every reward is RT3's missed-limit one. The
    // whole encoder shares its picks: one group of `--patterns` picks per level.
    let tight = dir.join("tight");
    let o = search(
        &from,
        &tight,
        &["--budget", "2", "--groups", "model", "--limits", "0.0001,0.0001,0.0001"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&tight.join("report.json"));
    assert_eq!(r["trained"], 0, "{r}");
    // RT3's reward for a missed limit: -1 plus the runs term, with no accuracy term.
    let best = &r["best"];
    let [lo, hi] = [0, 1].map(|i| r["reward"]["runs_range"][i].as_f64().unwrap());
    let runs_term = (best["runs_per_battery"].as_f64().unwrap() - lo) / (hi - lo);
    assert_eq!(best["trained"], false, "{r}");
    assert!(
        (best["reward"].as_f64().unwrap() - (runs_term - 1.0)).abs() < 1e-9,
        "{r}"
    );
    let choice = r["best"]["choice"].as_array().unwrap();
    assert_eq!(choice.len(), 3, "{r}");
    assert!(choice.iter().all(|level| level.as_array().unwrap().len() == 1), "{r}");

    // The best trained choice, made real: trained again, every level run by the CPU backend with
    // burn's predictions, and timed here against dense.
    let o = run_in_repo(&[
        "reconfig",
        "run",
        "--search",
        out.to_str().unwrap(),
        "--runs",
        "2",
        "--keep-weights",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let best = read_json(&out.join("report.json"))["best_trained"]["index"]
        .as_u64()
        .unwrap();
    let ran = out.join(format!("run-{best}"));
    let report = read_json(&ran.join("report.json"));
    let rows = report["levels"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{report}");
    for row in rows {
        let (burn, cpu) = (
            row["test_accuracy_burn"].as_f64().unwrap(),
            row["test_accuracy_cpu_backend"].as_f64().unwrap(),
        );
        assert!((burn - cpu).abs() < 1e-9, "burn and the CPU backend disagree: {row}");
        assert!(row["measured_ms_here"].as_f64().unwrap() > 0.0, "{row}");
        assert!(row["dense_measured_ms_here"].as_f64().unwrap() > 0.0, "{row}");
    }
    for f in [
        "weights.safetensors",
        "levels.ron",
        "accuracy.svg",
        "latency.svg",
        "index.html",
    ] {
        assert!(ran.join(f).exists(), "{f} missing");
    }
    assert!(!ran.join("training-scratch").exists());
    let page = std::fs::read_to_string(ran.join("index.html")).unwrap();
    assert!(page.contains("RT3 searched choice"), "{page}");
    let no_such = run_in_repo(&["reconfig", "run", "--search", out.to_str().unwrap(), "--choice", "99"]);
    fails_with(&no_such, &["no choice 99"]);
    let untrained = run_in_repo(&["reconfig", "run", "--search", tight.to_str().unwrap()]);
    fails_with(&untrained, &["none was trained"]);

    // Another setting in the same folder is another run: refused, naming it.
    let o = search(
        &from,
        &out,
        &["--budget", "3", "--block", "8", "--limits", "1000,1000,1000"],
    );
    fails_with(&o, &["`block` differs"]);
    // Limits that do not match the levels, and a profile without three DVFS levels.
    fails_with(
        &search(&from, &dir.join("x"), &["--limits", "10,10"]),
        &["one per DVFS level"],
    );
    fails_with(
        &search(&from, &dir.join("y"), &["--device", "host-intel-xeon-2c"]),
        &["needs 3 levels"],
    );
    fails_with(&search(&dir.join("missing"), &dir.join("z"), &[]), &["missing"]);
    let _ = std::fs::remove_dir_all(&dir);
}
