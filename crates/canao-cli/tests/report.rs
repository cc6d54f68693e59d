//! Issue 22: a run folder's index.html, made by the run itself and by `canao report`, opened in a
//! real browser (headless Chromium): the headline figures are in the page's text, every plot is
//! a non-empty SVG, the tables are there, nothing is loaded from anywhere; a folder with missing
//! or broken files still gets a page that says what is wrong.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{fails_with, ok, read_json, run};

/// A small real run: `canao gnn train` on a synthetic citation graph.
fn gnn_run(dir: &Path) -> PathBuf {
    let graph = dir.join("graph.safetensors");
    let out = dir.join("run");
    let (g, o) = (graph.to_str().unwrap(), out.to_str().unwrap());
    ok(&run(&[
        "gnn", "synth", "--nodes", "1600", "--edges", "4000", "--out", g,
    ]));
    ok(&run(&[
        "gnn",
        "train",
        "--dataset",
        g,
        "--seeds",
        "2",
        "--epochs",
        "20",
        "--out",
        o,
    ]));
    out
}

/// The browser, or None (with a SKIP line) where there is none; `CANAO_REQUIRE_BROWSER=1`, set by
/// scripts/test.sh after it installs Chromium, makes a missing browser a failure.
fn chromium() -> Option<&'static str> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(name);
        }
    }
    assert!(
        std::env::var("CANAO_REQUIRE_BROWSER").is_err(),
        "CANAO_REQUIRE_BROWSER is set but no chromium is installed"
    );
    eprintln!("SKIP: no chromium here; the page was checked as text only");
    None
}

/// Runs headless Chromium on `page` with a fresh profile and no background networking.
fn headless(browser: &str, page: &Path, profile: &Path, what: &[&str]) -> Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(what)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

/// `html` without its `xmlns...="..."` attributes.
fn without_namespaces(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find("xmlns") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let open = after.find('"').map_or(after.len(), |q| q + 1);
        let close = after[open..].find('"').map_or(after.len(), |q| open + q + 1);
        rest = &after[close..];
    }
    out.push_str(rest);
    out
}

/// Checks `page` refers to nothing external and, in the browser, that every plot is an SVG with
/// drawn content and a screenshot renders; returns the DOM the browser built, or None (after
/// the text-only checks) where there is no browser.
fn browser_checks(page: &Path, scratch: &Path) -> Option<String> {
    let html = std::fs::read_to_string(page).unwrap();
    // Nothing loaded from anywhere: no src attributes, stylesheets, CSS urls or remote addresses
    // (an SVG's namespace names an address but loads nothing).
    let loads = without_namespaces(&html);
    for external in ["src=", "<link", "url(", "http://", "https://"] {
        assert!(!loads.contains(external), "{} refers to `{external}`", page.display());
    }
    let browser = chromium()?;
    let profile = scratch.join("chromium-profile");
    let dom = headless(browser, page, &profile, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.contains("<h2>Headline figures</h2>"),
        "no page in the DOM: {dom:.400}"
    );
    let svgs: Vec<&str> = dom.split("<svg").skip(1).collect();
    assert!(!svgs.is_empty(), "no plot in the DOM");
    for svg in &svgs {
        let body = &svg[..svg.find("</svg>").expect("closed svg")];
        assert!(
            body.contains("<path") || body.contains("<polyline") || body.contains("<circle") || body.contains("<rect"),
            "empty plot"
        );
    }
    let shot = scratch.join("page.png");
    let o = headless(
        browser,
        page,
        &profile,
        &["--window-size=1200,1600", &format!("--screenshot={}", shot.display())],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot of {} bytes",
        png.len()
    );
    Some(dom)
}

/// `value` as the page prints it (trailing zeros of four decimals dropped).
fn figure(value: f64) -> String {
    let f = format!("{value:.4}");
    f.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn report_of(folder: &Path) -> serde_json::Value {
    read_json(&folder.join("report.json"))
}

#[test]
fn a_run_gets_a_page_that_a_browser_shows_whole() {
    let scratch = tempfile::tempdir().unwrap();
    let folder = gnn_run(scratch.path());
    let page = folder.join("index.html");
    assert!(page.is_file(), "the run writes its own page");
    let mean = figure(report_of(&folder)["test_accuracy"]["mean"].as_f64().unwrap());
    let Some(dom) = browser_checks(&page, scratch.path()) else {
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(html.contains("test_accuracy.mean") && html.contains("<svg"));
        return;
    };
    assert!(
        dom.contains("test_accuracy.mean") && dom.contains(&mean),
        "headline {mean} missing"
    );
    assert!(
        dom.contains("seeds.jsonl") && dom.contains("<td>"),
        "the per-seed table is missing"
    );
}

/// `canao profile` and `canao reconfig replay` (the kinds last to get pages): each run's page
/// names its kind, and the browser shows its headline figure, plots and table.
#[test]
fn calibration_and_trace_replay_runs_get_pages_too() {
    let scratch = tempfile::tempdir().unwrap();
    let (profile, calibration) = (scratch.path().join("p.ron"), scratch.path().join("calibration"));
    ok(&run(&[
        "profile",
        "--quick",
        "--rounds",
        "1",
        "--passes",
        "1",
        "--out",
        profile.to_str().unwrap(),
        "--report",
        calibration.to_str().unwrap(),
    ]));
    let replay = scratch.path().join("replay");
    let trace = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../device-profiles/traces/thermal-throttle.csv"
    );
    ok(&run(&[
        "reconfig",
        "replay",
        "--trace",
        trace,
        "--seq",
        "16",
        "--out",
        replay.to_str().unwrap(),
    ]));
    let mape = figure(report_of(&calibration)["totals_held_out"]["mape"].as_f64().unwrap());
    let events = report_of(&replay)["events"].as_u64().unwrap().to_string();
    for (folder, kind, headline, table) in [
        (
            &calibration,
            "latency calibration run",
            ("totals_held_out.mape", mape),
            "workloads.csv",
        ),
        (&replay, "DVFS trace replay run", ("events", events), "replay.jsonl"),
    ] {
        let page = folder.join("index.html");
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(html.contains(kind), "{} does not say it is a {kind}", page.display());
        assert!(
            !html.contains("id=\"missing\""),
            "a finished run misses files: {html:.3000}"
        );
        let Some(dom) = browser_checks(&page, scratch.path()) else {
            assert!(html.contains(headline.0) && html.contains(table));
            continue;
        };
        assert!(
            dom.contains(headline.0) && dom.contains(&headline.1),
            "headline {} = {} missing from {}",
            headline.0,
            headline.1,
            page.display()
        );
        assert!(
            dom.contains(table) && dom.contains("<td>"),
            "the {table} table is missing"
        );
    }
}

/// A run folder that cannot be made is refused before the calibration's minutes of measuring,
/// and no profile is written.
#[test]
fn an_unmakeable_calibration_folder_is_refused_before_measuring() {
    let scratch = tempfile::tempdir().unwrap();
    let profile = scratch.path().join("p.ron");
    let blocked = scratch.path().join("a-file");
    std::fs::write(&blocked, "").unwrap();
    let folder = blocked.join("run");
    let o = run(&[
        "profile",
        "--quick",
        "--out",
        profile.to_str().unwrap(),
        "--report",
        folder.to_str().unwrap(),
    ]);
    fails_with(&o, &["a-file/run"]);
    assert!(!profile.exists(), "a profile was written");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("timing round"),
        "it measured first"
    );
}

#[test]
fn a_folder_with_missing_or_broken_files_still_gets_a_page_that_says_so() {
    let scratch = tempfile::tempdir().unwrap();
    let folder = gnn_run(scratch.path());
    let dir = folder.to_str().unwrap();
    std::fs::remove_file(folder.join("curve.svg")).unwrap();
    std::fs::write(folder.join("report.json"), "{ \"test_accuracy\": ").unwrap();
    let mut log = std::fs::read_to_string(folder.join("seeds.jsonl")).unwrap();
    log.push_str("{\"seed\": 9, \"torn");
    std::fs::write(folder.join("seeds.jsonl"), log).unwrap();
    ok(&run(&["report", dir]));
    let html = std::fs::read_to_string(folder.join("index.html")).unwrap();
    assert!(html.contains("report.json does not parse"), "{html:.2000}");
    assert!(html.contains("seeds.jsonl: 1 line(s) do not parse"));
    assert!(!html.contains("<svg"), "curve.svg was removed");

    std::fs::remove_file(folder.join("report.json")).unwrap();
    ok(&run(&["report", dir]));
    let html = std::fs::read_to_string(folder.join("index.html")).unwrap();
    assert!(html.contains("No report.json yet") && html.contains("Missing: report.json"));

    let o = run(&["report", scratch.path().join("nope").to_str().unwrap()]);
    fails_with(&o, &["nope", "not a run folder"]);
}

#[test]
fn a_profiled_model_bench_gets_per_kernel_bars_and_a_page() {
    let scratch = tempfile::tempdir().unwrap();
    let out = scratch.path().join("bench");
    let o = out.to_str().unwrap();
    let args = ["bench", "model", "--seq", "16", "--runs", "20", "--profile", "--out", o];
    ok(&run(&args));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert!(report["kernels_ms"]["linear/dense"].as_f64().unwrap() > 0.0, "{report}");
    let svg = std::fs::read_to_string(out.join("kernels.svg")).unwrap();
    assert!(svg.contains("<rect") && svg.contains("linear/dense"), "no bars");
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("kernels_ms.attention") && page.contains("<svg"));
}
