//! A perturbation as `flips.csv`: one flipped pair `u,v` per line (an optional `u,v` header).

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{GnnError, Result};
use crate::graph::{Graph, pair};

/// Writes the pairs, one per line, atomically.
pub fn write(path: &Path, flips: &[(usize, usize)]) -> Result<()> {
    let mut text = String::from("u,v\n");
    for &(u, v) in flips {
        writeln!(text, "{u},{v}").expect("writing to a String");
    }
    crate::io::write_atomic(path, text.as_bytes())
}

/// Reads a perturbation of `graph`: every pair in range, no self loop, no pair twice; errors
/// name the file and the line.
pub fn read(path: &Path, graph: &Graph) -> Result<Vec<(usize, usize)>> {
    let text = std::fs::read_to_string(path).map_err(|source| GnnError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path, graph)
}

/// Parses the text of a flips file; `path` names it in errors.
pub fn parse(text: &str, path: &Path, graph: &Graph) -> Result<Vec<(usize, usize)>> {
    let err = |line: usize, detail: String| GnnError::Flips {
        path: path.to_path_buf(),
        line,
        detail,
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || (i == 0 && line == "u,v") {
            continue;
        }
        let (a, b) = line
            .split_once(',')
            .ok_or_else(|| err(i + 1, format!("`{line}` is not `u,v`")))?;
        let node = |s: &str| {
            s.trim()
                .parse::<usize>()
                .ok()
                .filter(|&x| x < graph.nodes())
                .ok_or_else(|| {
                    err(
                        i + 1,
                        format!("`{}` is not a node of a graph of {} nodes", s.trim(), graph.nodes()),
                    )
                })
        };
        let (u, v) = (node(a)?, node(b)?);
        if u == v {
            return Err(err(i + 1, format!("({u}, {v}) is a self loop")));
        }
        if !seen.insert(pair(u, v)) {
            return Err(err(i + 1, format!("({u}, {v}) is flipped twice")));
        }
        out.push(pair(u, v));
    }
    Ok(out)
}
