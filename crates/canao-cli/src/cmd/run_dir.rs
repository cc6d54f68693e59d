//! Run folders: where a command writes, and the `config.json` that ties a folder to one run so
//! that resuming never mixes two runs' results.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// `out`, or `results/<default>`, created and checked writable.
pub fn out_dir(out: Option<&Path>, default: &str) -> Result<PathBuf> {
    let dir = out.map_or_else(|| PathBuf::from("results").join(default), Path::to_path_buf);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let probe = dir.join(".write-check");
    std::fs::write(&probe, b"").with_context(|| format!("{} is not writable", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(dir)
}

/// Writes `config.json` in a fresh run folder; in one that has it, insists it is the same run,
/// except for the `extendable` settings (a count of seeds or rounds a rerun may raise to extend
/// the run), and records the rerun's values.
pub fn check_or_write_config(dir: &Path, resolved: &Value, extendable: &[&str]) -> Result<()> {
    let path = dir.join("config.json");
    if path.is_file() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let old: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if let Some(key) = differing_key(&old, resolved, extendable) {
            bail!(
                "{} holds a different run (`{key}` differs from {}); use another --out to start a new one",
                dir.display(),
                path.display()
            );
        }
        eprintln!("resuming the run in {}", dir.display());
    }
    crate::cmd::train_report::write_atomic(&path, &serde_json::to_vec_pretty(resolved)?)
}

/// The first top-level setting (dotted one level down) in which two run configs differ, the
/// `extendable` ones aside.
fn differing_key(old: &Value, new: &Value, extendable: &[&str]) -> Option<String> {
    let (Some(a), Some(b)) = (old.as_object(), new.as_object()) else {
        return (old != new).then(|| "config".to_string());
    };
    let keys: BTreeSet<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| !extendable.contains(&k.as_str()))
        .collect();
    keys.into_iter().find_map(|k| match (a.get(k), b.get(k)) {
        (Some(x), Some(y)) if x == y => None,
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let inner: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            inner
                .into_iter()
                .find(|i| x.get(*i) != y.get(*i))
                .map(|i| format!("{k}.{i}"))
        }
        _ => Some(k.clone()),
    })
}
