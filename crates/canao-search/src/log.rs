//! The append-only search log: one JSON line per evaluation, written and flushed as each one
//! finishes, so a killed run loses at most the evaluations in flight. Resuming reads the lines
//! back (a line torn by the kill is cut off) and appends after them.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::objective::{CandidateKey, Evaluation};
use crate::strategy::Point;

/// One evaluated candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Order of evaluation within the run (0-based, by when it was asked for).
    pub index: usize,
    pub key: CandidateKey,
    pub point: Point,
    pub arch: serde_json::Value,
    pub evaluation: Evaluation,
    pub reward: f64,
    pub meets_limit: bool,
    /// Seconds since the run started (summed over resumed sessions) when it finished.
    pub elapsed_s: f64,
}

#[derive(Debug)]
pub struct SearchLog {
    path: PathBuf,
    file: File,
}

impl SearchLog {
    /// A new, empty log; refuses to overwrite one (resume it instead).
    pub fn create(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Opens an existing log for appending and returns its records. A last line without its
    /// newline (the run was killed while writing it) is removed from the file.
    pub fn resume(path: &Path) -> Result<(Self, Vec<Record>)> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        let mut records = Vec::new();
        let mut complete = 0u64;
        let mut reader = BufReader::new(&file);
        let mut line = String::new();
        for number in 1.. {
            line.clear();
            let n = reader.read_line(&mut line).map_err(|e| io(path, e))?;
            if n == 0 || !line.ends_with('\n') {
                break;
            }
            let record: Record = serde_json::from_str(&line).map_err(|e| SearchError::Log {
                path: path.to_path_buf(),
                line: number,
                detail: e.to_string(),
            })?;
            records.push(record);
            complete += n as u64;
        }
        file.set_len(complete).map_err(|e| io(path, e))?;
        Ok((
            Self {
                path: path.to_path_buf(),
                file,
            },
            records,
        ))
    }

    pub fn append(&mut self, record: &Record) -> Result<()> {
        let mut line = serde_json::to_string(record).expect("records serialise");
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(|e| io(&self.path, e))?;
        self.file.flush().map_err(|e| io(&self.path, e))
    }
}

fn io(path: &Path, e: std::io::Error) -> SearchError {
    SearchError::Io {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}
