//! `index.html` of one run folder: what kind of run it is, its settings and seed, the headline
//! figures of `report.json`, every plot inline, a sortable table of every JSON-lines and CSV
//! file, and links to the raw files. It reads whatever is there: a file that is missing or does
//! not parse is named on the page, never an error, so a run still going (or killed) gets a page.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cmd::report::html::{self, SORT_SCRIPT, STYLE, escape};

/// Rows shown per table; the caption says when a file has more.
const TABLE_ROWS: usize = 1000;
/// Characters of a settings file shown inline; the link has the rest.
const SETTINGS_CHARS: usize = 6000;

/// What a run folder holds, told by its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Search,
    Train,
    Prune,
    Gnn,
    /// `canao privacy fl`.
    Federated,
    /// `canao privacy leak`.
    Leakage,
    /// `canao privacy mia`.
    Membership,
    /// `canao reconfig replay`.
    Reconfig,
    /// `canao reconfig search`.
    PatternSearch,
    /// `canao reconfig run`.
    PatternRun,
    /// `canao profile`: the latency model's calibration.
    Profile,
    /// `canao compare` or `compare-pruning`: a summary over run folders below it.
    Comparison,
    Other,
}

impl RunKind {
    fn detect(names: &[String]) -> RunKind {
        let has = |n: &str| names.iter().any(|f| f == n);
        let ends = |s: &str| names.iter().any(|f| f.ends_with(s));
        if has("run.ron") && has("log.jsonl") {
            RunKind::Search
        } else if has("metrics.jsonl") {
            RunKind::Train
        } else if ends("prune.json") {
            RunKind::Prune
        } else if has("seeds.jsonl") || has("flips.csv") || has("cells.jsonl") {
            RunKind::Gnn
        } else if has("rounds.jsonl") {
            RunKind::Federated
        } else if has("rows.jsonl") {
            RunKind::Leakage
        } else if has("attacks.jsonl") {
            RunKind::Membership
        } else if has("replay.jsonl") {
            RunKind::Reconfig
        } else if has("config.json") && has("log.jsonl") {
            RunKind::PatternSearch
        } else if has("accuracy.svg") && has("latency.svg") {
            RunKind::PatternRun
        } else if has("workloads.csv") {
            RunKind::Profile
        } else if has("summary.md") || has("pruning.md") {
            RunKind::Comparison
        } else {
            RunKind::Other
        }
    }

    fn name(self) -> &'static str {
        match self {
            RunKind::Search => "search",
            RunKind::Train => "training",
            RunKind::Prune => "pruning",
            RunKind::Gnn => "GCN",
            RunKind::Federated => "federated learning",
            RunKind::Leakage => "gradient leakage",
            RunKind::Membership => "membership inference",
            RunKind::Reconfig => "DVFS trace replay",
            RunKind::PatternSearch => "RT3 pattern-set search",
            RunKind::PatternRun => "RT3 searched choice",
            RunKind::Profile => "latency calibration",
            RunKind::Comparison => "comparison",
            RunKind::Other => "",
        }
    }

    /// Files a finished run of this kind writes.
    fn expected(self) -> &'static [&'static str] {
        match self {
            RunKind::Search => &["run.ron", "log.jsonl", "report.json", "pareto.svg", "curve.svg"],
            RunKind::Train => &["run.json", "metrics.jsonl", "report.json", "curve.svg"],
            RunKind::Prune | RunKind::Gnn | RunKind::Other => &["report.json"],
            RunKind::Federated => &[
                "config.json",
                "rounds.jsonl",
                "report.json",
                "accuracy.svg",
                "upload.svg",
            ],
            RunKind::Leakage => &["config.json", "rows.jsonl", "report.json", "psnr.svg"],
            RunKind::Membership => &["config.json", "attacks.jsonl", "report.json", "roc-lira.svg"],
            RunKind::Reconfig => &["replay.jsonl", "report.json", "latency.svg", "energy.svg", "missed.svg"],
            RunKind::PatternSearch => &["config.json", "log.jsonl", "report.json", "curve.svg", "levels.svg"],
            RunKind::PatternRun => &["report.json", "accuracy.svg", "latency.svg"],
            RunKind::Profile => &["profile.ron", "workloads.csv", "report.json", "fit.svg"],
            RunKind::Comparison => &[],
        }
    }
}

/// One entry of the folder.
struct Entry {
    name: String,
    bytes: u64,
    dir: bool,
}

fn list(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading run folder {}", dir.display()))? {
        let e = e.with_context(|| format!("reading run folder {}", dir.display()))?;
        let meta = e.metadata().ok();
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "index.html" || name.starts_with('.') || name.ends_with(".tmp") {
            continue;
        }
        out.push(Entry {
            name,
            bytes: meta.as_ref().map_or(0, |m| m.len()),
            dir: meta.is_some_and(|m| m.is_dir()),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A section's HTML and the problems met building it (files that did not parse).
struct Section {
    html: String,
    problems: Vec<String>,
}

fn read(dir: &Path, name: &str) -> std::result::Result<String, String> {
    std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"))
}

/// Headline figures: the scalar leaves of report.json, two levels deep (settings left out).
fn headline(dir: &Path, names: &[String], kind: RunKind) -> Section {
    let mut s = Section {
        html: String::from("<h2>Headline figures</h2>"),
        problems: Vec::new(),
    };
    if !names.iter().any(|n| n == "report.json") {
        if kind.expected().contains(&"report.json") {
            s.html
                .push_str("<p class=\"missing\">No report.json yet: the run has not finished its first report.</p>");
        } else {
            s.html.clear();
        }
        return s;
    }
    let report: Value = match read(dir, "report.json").and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            s.problems.push(format!("report.json does not parse: {e}"));
            return s;
        }
    };
    s.html.push_str("<table id=\"headline\"><tbody>");
    for (k, v) in html::leaves(&report, 2) {
        let skip = k.starts_with("config") || matches!(v, Value::Array(_)) || k.is_empty();
        if !skip {
            s.html.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(&k),
                escape(&html::cell(&v))
            ));
        }
    }
    s.html.push_str("</tbody></table>");
    s
}

/// Settings files (RON and JSON configurations), shown as they are.
fn settings(dir: &Path, names: &[String]) -> Section {
    let mut s = Section {
        html: String::from("<h2>Settings</h2>"),
        problems: Vec::new(),
    };
    let is_setting =
        |n: &str| n.ends_with(".ron") || matches!(n, "run.json" | "config.json") || n.ends_with("prune.json");
    for name in names.iter().filter(|n| is_setting(n)) {
        match read(dir, name) {
            Ok(text) => {
                let shown: String = text.chars().take(SETTINGS_CHARS).collect();
                let more = if shown.len() < text.len() { "\n…" } else { "" };
                s.html.push_str(&format!(
                    "<details><summary>{}</summary><pre>{}{more}</pre></details>",
                    escape(name),
                    escape(&shown)
                ));
            }
            Err(e) => s.problems.push(e),
        }
    }
    s
}

/// Markdown summaries a run writes (tables of a comparison or an evaluation grid), as text.
fn summaries(dir: &Path, names: &[String]) -> Section {
    let mut s = Section {
        html: String::new(),
        problems: Vec::new(),
    };
    for name in names.iter().filter(|n| n.ends_with(".md")) {
        match read(dir, name) {
            Ok(text) => s.html.push_str(&format!(
                "<details open><summary>{}</summary><pre>{}</pre></details>",
                escape(name),
                escape(&text)
            )),
            Err(e) => s.problems.push(e),
        }
    }
    if !s.html.is_empty() {
        s.html.insert_str(0, "<h2>Summaries</h2>");
    }
    s
}

/// Every SVG plot of the folder, inline, and every PNG image (reconstruction grids), linked.
fn plots(dir: &Path, names: &[String]) -> Section {
    let mut s = Section {
        html: String::from("<h2>Plots</h2>"),
        problems: Vec::new(),
    };
    for name in names.iter().filter(|n| n.ends_with(".svg")) {
        match read(dir, name) {
            Ok(text) => {
                // The XML prolog is not allowed inside HTML; the <svg> element is.
                let svg = text.find("<svg").map_or("", |i| &text[i..]);
                if svg.is_empty() {
                    s.problems.push(format!("{name} holds no <svg> element"));
                    continue;
                }
                s.html.push_str(&format!(
                    "<figure>{svg}<figcaption><a href=\"{0}\">{0}</a></figcaption></figure>",
                    escape(name)
                ));
            }
            Err(e) => s.problems.push(e),
        }
    }
    for name in names.iter().filter(|n| n.ends_with(".png")) {
        s.html.push_str(&format!(
            "<figure><img src=\"{0}\" alt=\"{0}\"><figcaption><a href=\"{0}\">{0}</a></figcaption></figure>",
            escape(name)
        ));
    }
    s
}

/// Rows of a JSON-lines file; a torn or bad line is counted, not fatal.
fn jsonl_rows(text: &str) -> (Vec<Value>, usize) {
    let mut bad = 0;
    let rows = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<Value>(l).map_err(|_| bad += 1).ok())
        .collect();
    (rows, bad)
}

/// Rows of a CSV file, numbers parsed where they parse. A first line of numbers is data (flip
/// lists have no header): its columns are named c0, c1, ...
fn csv_rows(text: &str) -> Vec<Value> {
    let mut lines = text.lines().peekable();
    let first: Vec<&str> = lines.peek().map_or(Vec::new(), |h| h.split(',').collect());
    let headerless = !first.is_empty() && first.iter().all(|f| f.trim().parse::<f64>().is_ok());
    let header: Vec<String> = if headerless {
        (0..first.len()).map(|i| format!("c{i}")).collect()
    } else {
        lines.next();
        first.iter().map(|h| h.to_string()).collect()
    };
    lines
        .map(|l| {
            let mut row = serde_json::Map::new();
            for (k, v) in header.iter().zip(l.split(',')) {
                let value = v.parse::<f64>().map_or_else(|_| Value::from(v), Value::from);
                row.insert(k.to_string(), value);
            }
            Value::Object(row)
        })
        .collect()
}

/// A sortable table per JSON-lines and CSV file (per `kind` where rows carry one).
fn tables(dir: &Path, names: &[String]) -> Section {
    let mut s = Section {
        html: String::from("<h2>Tables</h2>"),
        problems: Vec::new(),
    };
    for name in names.iter().filter(|n| n.ends_with(".jsonl") || n.ends_with(".csv")) {
        let text = match read(dir, name) {
            Ok(t) => t,
            Err(e) => {
                s.problems.push(e);
                continue;
            }
        };
        let rows = if name.ends_with(".csv") {
            csv_rows(&text)
        } else {
            let (rows, bad) = jsonl_rows(&text);
            if bad > 0 {
                s.problems.push(format!(
                    "{name}: {bad} line(s) do not parse (a torn last line of a killed run?)"
                ));
            }
            rows
        };
        let mut kinds: Vec<Option<&str>> = Vec::new();
        for r in &rows {
            let k = r.get("kind").and_then(Value::as_str);
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        for kind in kinds {
            let part: Vec<Value> = rows
                .iter()
                .filter(|r| r.get("kind").and_then(Value::as_str) == kind)
                .cloned()
                .collect();
            let caption = kind.map_or(name.clone(), |k| format!("{name}, kind {k}"));
            s.html.push_str(&html::table(&caption, &part, TABLE_ROWS));
        }
    }
    s
}

/// Links to every file and sub-folder (a sub-folder's own page where it has one).
fn files(dir: &Path, entries: &[Entry]) -> String {
    let mut html = String::from("<h2>Files</h2><ul id=\"files\">");
    for e in entries {
        let href = if e.dir && dir.join(&e.name).join("index.html").is_file() {
            format!("{}/index.html", e.name)
        } else {
            e.name.clone()
        };
        let what = if e.dir {
            "folder".to_string()
        } else {
            format!("{} bytes", e.bytes)
        };
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a> ({what})</li>",
            escape(&href),
            escape(&e.name)
        ));
    }
    html.push_str("</ul>");
    html
}

/// The whole page of `dir`.
pub fn render(dir: &Path) -> Result<String> {
    let entries = list(dir)?;
    let names: Vec<String> = entries.iter().filter(|e| !e.dir).map(|e| e.name.clone()).collect();
    let kind = RunKind::detect(&names);
    let title = dir
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
    let missing: Vec<&str> = kind
        .expected()
        .iter()
        .copied()
        .filter(|f| !names.iter().any(|n| n == f))
        .collect();
    let sections = [
        headline(dir, &names, kind),
        summaries(dir, &names),
        plots(dir, &names),
        settings(dir, &names),
        tables(dir, &names),
    ];
    let what = match kind.name() {
        "" => "run".to_string(),
        name => format!("{name} run"),
    };
    let mut body = format!(
        "<h1>{}</h1><p>canao {what}, page made {}.</p>",
        escape(&title),
        canao_latency::today()
    );
    if !missing.is_empty() {
        body.push_str(&format!(
            "<p class=\"missing\" id=\"missing\">Missing: {} (the run is still going, or stopped before writing them).</p>",
            escape(&missing.join(", "))
        ));
    }
    let problems: Vec<&String> = sections.iter().flat_map(|s| &s.problems).collect();
    if !problems.is_empty() {
        body.push_str("<ul class=\"missing\" id=\"problems\">");
        for p in problems {
            body.push_str(&format!("<li>{}</li>", escape(p)));
        }
        body.push_str("</ul>");
    }
    // A section none of whose files exist is only its heading: leave it out.
    for s in sections.iter().filter(|s| !s.html.ends_with("</h2>")) {
        body.push_str(&s.html);
    }
    body.push_str(&files(dir, &entries));
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>{STYLE}</head><body>{body}{SORT_SCRIPT}</body></html>\n",
        escape(&title)
    ))
}

/// Writes `dir/index.html` (through a temporary file and a rename, so a browser never sees half
/// a page) and returns its path.
pub fn write_index(dir: &Path) -> Result<PathBuf> {
    let page = render(dir)?;
    let path = dir.join("index.html");
    crate::cmd::train_report::write_atomic(&path, page.as_bytes())?;
    Ok(path)
}
