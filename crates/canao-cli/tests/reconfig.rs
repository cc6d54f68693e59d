//! `canao reconfig replay` on a shipped trace: every model replays every request, only the
//! reconfigurable one switches (once per level change), and bad traces or settings are refused
//! naming what is wrong. No timing is asserted.

mod common;

use common::{fresh_dir, run_in_repo, stderr};

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
