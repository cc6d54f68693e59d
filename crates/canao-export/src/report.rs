//! The part of a search report the exporter reads: the best architecture found. A report is
//! JSON of the shape `{"best": {"arch": <StudentArch>, ...}, ...}`; every other field (scores,
//! the Pareto front, the log) is the search's business and ignored here.

use std::path::Path;

use canao_models::StudentArch;
use serde::Deserialize;

use crate::error::{ExportError, Result};

#[derive(Debug, Deserialize)]
struct Report {
    best: Option<Best>,
}

#[derive(Debug, Deserialize)]
struct Best {
    arch: Option<serde_json::Value>,
}

/// `best.arch` of the search report at `path`; errors name the file and the field.
pub fn best_arch(path: &Path) -> Result<StudentArch> {
    let err = |detail: String| ExportError::Report {
        file: path.to_path_buf(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let report: Report = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let arch = report
        .best
        .ok_or_else(|| err("has no `best` entry (did the search finish an evaluation?)".into()))?
        .arch
        .ok_or_else(|| err("has no `best.arch`".into()))?;
    serde_json::from_value(arch).map_err(|e| err(format!("`best.arch` is not a student architecture: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("canao-report-{name}-{}.json", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_best_arch_and_names_what_is_missing() {
        let ok = write(
            "ok",
            r#"{"best": {"arch": {"layers": [{"teacher": 1, "heads": 6, "ffn": 512, "density": 0.5, "block": [16, 16]}]},
                "score": 0.81, "latency_ms": 4.2}, "front": []}"#,
        );
        let arch = best_arch(&ok).unwrap();
        assert_eq!(arch.layers[0].teacher, 1);
        assert_eq!(arch.layers[0].block, Some([16, 16]));
        let no_best = write("nobest", r#"{"front": []}"#);
        let err = best_arch(&no_best).unwrap_err().to_string();
        assert!(err.contains("best") && err.contains("nobest"), "{err}");
        let bad = write("bad", r#"{"best": {"arch": {"layers": [{"teacher": "x"}]}}}"#);
        let err = best_arch(&bad).unwrap_err().to_string();
        assert!(err.contains("best.arch"), "{err}");
        for p in [ok, no_best, bad] {
            std::fs::remove_file(p).ok();
        }
    }
}
