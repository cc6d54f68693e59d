//! `canao search --storage` and `canao worker` as users run them, against a throw-away
//! PostgreSQL cluster: a driver and two workers give the file log's run; workers and the driver
//! killed with SIGKILL lose and repeat nothing; bad URLs and logins are refused clearly.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use canao_store::TempCluster;

mod common;

use common::{canao_in_repo, fresh_dir, run_in_repo, stderr};

fn spawn(args: &[&str]) -> Child {
    canao_in_repo()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("canao starts")
}

/// The latency-only BERT-base space: cheap candidates, no assets needed.
fn search_args(out: &Path) -> Vec<String> {
    [
        "search",
        "--space",
        "search-spaces/bert-base.ron",
        "--strategy",
        "evolution",
        "--budget",
        "16",
        "--batch",
        "4",
        "--seed",
        "11",
        "--out",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| s.to_string()));
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A run's report (without its wall time) and its (index, key, reward) records.
type Outcome = (serde_json::Value, Vec<(u64, String, f64)>);

/// What must not depend on where candidates were evaluated: the report without its wall time,
/// and the log's candidates and rewards in the run's order (a file log has them in the order
/// they finished).
fn outcome(dir: &Path) -> Outcome {
    let mut report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    report.as_object_mut().unwrap().remove("wall_s");
    let log = std::fs::read_to_string(dir.join("log.jsonl")).unwrap();
    let mut records: Vec<_> = log
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                r["index"].as_u64().unwrap(),
                r["key"].as_str().unwrap().to_string(),
                r["reward"].as_f64().unwrap(),
            )
        })
        .collect();
    records.sort_by_key(|r| r.0);
    (report, records)
}

fn study_name(dir: &Path) -> &str {
    dir.file_name().unwrap().to_str().unwrap()
}

/// Polls `query` (one integer) until it reaches `at_least`.
fn wait_until(url: &str, query: &str, at_least: i64, what: &str) {
    let start = Instant::now();
    loop {
        if let Ok(mut c) = canao_store::connect(url)
            && let Ok(row) = c.query_one(query, &[])
            && row.get::<_, i64>(0) >= at_least
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One worker thread on study `name`, 1 s leases, holding each claim `hold_ms` before evaluating.
fn worker_args<'a>(url: &'a str, name: &'a str, hold_ms: &'a str) -> [&'a str; 11] {
    [
        "worker",
        "--storage",
        url,
        "--study",
        name,
        "--parallel",
        "1",
        "--lease-s",
        "1",
        "--hold-ms",
        hold_ms,
    ]
}

fn file_run(name: &str) -> (PathBuf, Outcome) {
    let dir = fresh_dir(name);
    let o = run_in_repo(&strs(&with(search_args(&dir), &["--parallel", "2"])));
    assert!(o.status.success(), "{}", stderr(&o));
    let expected = outcome(&dir);
    assert_eq!(expected.1.len(), 16);
    (dir, expected)
}

#[test]
fn a_driver_and_two_workers_give_the_file_logs_run() {
    let Some(pg) = TempCluster::for_tests().unwrap() else {
        return;
    };
    let url = pg.create_database("two_workers").unwrap();
    let (file_dir, expected) = file_run("file");

    let dir = fresh_dir("pg");
    // Workers may start before their driver: they wait for its study.
    let workers: Vec<Child> = (0..2)
        .map(|_| {
            spawn(&[
                "worker",
                "--storage",
                &url,
                "--study",
                study_name(&dir),
                "--parallel",
                "1",
            ])
        })
        .collect();
    let o = run_in_repo(&strs(&with(search_args(&dir), &["--storage", &url, "--parallel", "0"])));
    assert!(o.status.success(), "{}", stderr(&o));
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a worker stops when its study ends: {}",
            stderr(&out)
        );
    }
    assert_eq!(outcome(&dir), expected);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&file_dir);
}

#[test]
fn killed_workers_and_a_killed_driver_lose_and_repeat_nothing() {
    let Some(pg) = TempCluster::for_tests().unwrap() else {
        return;
    };
    let url = pg.create_database("kills").unwrap();
    let (file_dir, expected) = file_run("file-kills");

    let dir = fresh_dir("pg-kills");
    let name = study_name(&dir).to_string();
    let mut driver = spawn(&strs(&with(
        search_args(&dir),
        &["--storage", &url, "--parallel", "0", "--lease-s", "1"],
    )));
    // A worker that holds its first candidate for a long while is killed holding it.
    let mut doomed = spawn(&worker_args(&url, &name, "60000"));
    wait_until(
        &url,
        "SELECT count(*) FROM canao_candidates WHERE state = 'running'",
        1,
        "the first claim",
    );
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    // A slower steady worker takes over; the driver is killed once a few results are in.
    let steady_args = worker_args(&url, &name, "100");
    let mut steady = spawn(&steady_args);
    wait_until(
        &url,
        "SELECT count(*) FROM canao_candidates WHERE record IS NOT NULL",
        6,
        "six kept records",
    );
    driver.kill().unwrap();
    driver.wait().unwrap();
    // ... and the steady worker too, mid-evaluation, then a fresh one.
    steady.kill().unwrap();
    steady.wait().unwrap();
    let steady = spawn(&steady_args);
    let o = run_in_repo(&[
        "search",
        "--resume",
        dir.to_str().unwrap(),
        "--storage",
        &url,
        "--parallel",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("evaluations logged before"), "{}", stderr(&o));
    let out = steady.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        outcome(&dir),
        expected,
        "the interrupted run ends where the whole one did"
    );

    let mut c = canao_store::connect(&url).unwrap();
    let row = c
        .query_one(
            "SELECT count(*), count(DISTINCT key), max(attempts) FROM canao_candidates WHERE state = 'done'",
            &[],
        )
        .unwrap();
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, i64>(1)),
        (16, 16),
        "each candidate once"
    );
    assert!(
        row.get::<_, i32>(2) >= 2,
        "the killed worker's candidate was claimed again"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&file_dir);
}

#[test]
fn bad_storage_settings_are_refused_clearly() {
    let Some(pg) = TempCluster::for_tests().unwrap() else {
        return;
    };
    let dir = fresh_dir("bad");
    let wrong = pg.url("postgres").replace(canao_store::PASSWORD, "wrong");
    let o = run_in_repo(&strs(&with(search_args(&dir), &["--storage", &wrong])));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("refused the login"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("wrong"), "no password in messages: {}", stderr(&o));

    let o = run_in_repo(&["worker", "--storage", "mysql://db"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a PostgreSQL URL"), "{}", stderr(&o));

    let o = run_in_repo(&strs(&with(search_args(&dir), &["--parallel", "0"])));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--storage"), "{}", stderr(&o));

    // A run kept in PostgreSQL resumes only with its URL.
    let url = pg.create_database("bad").unwrap();
    let o = run_in_repo(&strs(&with(search_args(&dir), &["--storage", &url, "--parallel", "2"])));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run_in_repo(&["search", "--resume", dir.to_str().unwrap(), "--budget", "20"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("give --storage"), "{}", stderr(&o));
    // A new run over its folder would rewrite the settings the study replays with: refused.
    std::fs::remove_file(dir.join("log.jsonl")).unwrap();
    let o = run_in_repo(&strs(&with(search_args(&dir), &["--storage", &url])));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_comparison_through_postgres_gives_the_file_logs_runs() {
    let Some(pg) = TempCluster::for_tests().unwrap() else {
        return;
    };
    let url = pg.create_database("compare").unwrap();
    let compare = |out: &Path, more: &[&str]| {
        let mut args = vec![
            "compare",
            "--space",
            "search-spaces/bert-base.ron",
            "--strategies",
            "random,evolution",
            "--seeds",
            "0",
            "--limits",
            "0.5",
            "--budget",
            "8",
            "--parallel",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(more);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let file = fresh_dir("compare-file");
    let o = run_in_repo(&strs(&compare(&file, &[])));
    assert!(o.status.success(), "{}", stderr(&o));

    // Both runs are queued at once; one worker serves every study and stops when none is open.
    let queued = fresh_dir("compare-pg");
    let mut driver = spawn(&strs(&compare(&queued, &["--storage", &url])));
    wait_until(&url, "SELECT count(*) FROM canao_studies", 2, "both studies");
    let worker = spawn(&["worker", "--storage", &url, "--parallel", "2", "--exit-when-idle"]);
    assert!(driver.wait().unwrap().success());
    let out = worker.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for run in ["random-seed0", "evolution-seed0"] {
        let at = |dir: &Path| dir.join("limit-0.5").join(run);
        assert_eq!(outcome(&at(&queued)), outcome(&at(&file)), "{run}");
    }
    let _ = std::fs::remove_dir_all(&file);
    let _ = std::fs::remove_dir_all(&queued);
}
