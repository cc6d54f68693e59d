//! What the CLI test files share: the built `canao` as a command, its output as text or JSON,
//! failures that must name what is wrong, and scratch folders. Each test file is its own crate
//! and takes what it needs (`mod common;`), so a helper may go unused in some of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A path in the repository (shipped spaces, device profiles, traces).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// The built binary; backtraces off, so an error reads as a user sees it.
pub fn canao() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_canao"));
    c.env("RUST_BACKTRACE", "0");
    c
}

/// Runs canao with `args` in the test's working folder.
pub fn run(args: &[&str]) -> Output {
    canao().args(args).output().expect("canao runs")
}

/// Runs canao with `args` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    canao().current_dir(dir).args(args).output().expect("canao runs")
}

/// The built binary, run from the repository root.
pub fn canao_in_repo() -> Command {
    let mut c = canao();
    c.current_dir(repo(""));
    c
}

/// Runs canao with `args` from the repository root.
pub fn run_in_repo(args: &[&str]) -> Output {
    canao_in_repo().args(args).output().expect("canao runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

pub fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

/// The output of a run that must succeed (its stderr is the failure message).
pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "canao failed: {}", stderr(o));
    stdout(o)
}

/// The output of a run that must succeed, parsed as JSON.
pub fn ok_json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(o)).expect("canao printed JSON")
}

/// The message of a run that must fail, with every one of `words` in it and no panic.
pub fn fails_with(o: &Output, words: &[&str]) -> String {
    let err = stderr(o);
    assert!(!o.status.success(), "expected a failure, got: {}", stdout(o));
    for w in words {
        assert!(err.contains(w), "`{w}` missing from: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// A JSON file a run wrote.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// A temporary path for case `name`, removed if an earlier run left it, not created (a run
/// creates its own output folder). Test binaries run as separate processes, so the process id
/// keeps two files' cases apart.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canao-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// [`fresh_dir`], created.
pub fn scratch(name: &str) -> PathBuf {
    let dir = fresh_dir(name);
    std::fs::create_dir_all(&dir).expect("creating a scratch folder");
    dir
}
