//! Checking a cached asset against the catalog's sha256 values.
//!
//! The checks work on a plain `(relpath, sha256)` list so they can be exercised on test-only
//! file lists without touching the real catalog.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::catalog::{Asset, AssetSpec};
use super::error::AssetError;

/// The state of one catalog file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Ok,
    Missing,
    Corrupt { actual_sha256: String },
}

/// The result of checking every file of one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetStatus {
    pub name: String,
    pub dir: PathBuf,
    /// `(relative path, state)` in catalog order.
    pub files: Vec<(String, FileState)>,
    /// Total size of the catalog files present on disk (ok or not).
    pub bytes: u64,
}

impl AssetStatus {
    /// True when every file is present with the expected sha256.
    pub fn is_ok(&self) -> bool {
        self.files.iter().all(|(_, s)| *s == FileState::Ok)
    }

    /// True when some file is present but has the wrong sha256.
    pub fn any_corrupt(&self) -> bool {
        self.files.iter().any(|(_, s)| matches!(s, FileState::Corrupt { .. }))
    }

    /// The error for the first bad file, preferring corruption (which `ensure` must not paper
    /// over) to absence; `None` when the asset is ok.
    pub fn first_problem(&self, files: &[(&str, &str)], repair: &str) -> Option<AssetError> {
        let expected = |rel: &str| {
            files
                .iter()
                .find(|(r, _)| *r == rel)
                .map_or(String::new(), |(_, sha)| sha.to_string())
        };
        let corrupt = self.files.iter().find_map(|(rel, s)| match s {
            FileState::Corrupt { actual_sha256 } => Some(AssetError::Corrupt {
                file: self.dir.join(rel),
                expected: expected(rel),
                actual: actual_sha256.clone(),
                repair: repair.to_string(),
            }),
            _ => None,
        });
        corrupt.or_else(|| {
            self.files.iter().find_map(|(rel, s)| match s {
                FileState::Missing => Some(AssetError::Missing {
                    file: self.dir.join(rel),
                    repair: repair.to_string(),
                }),
                _ => None,
            })
        })
    }
}

/// Streams `reader` through sha256 and returns `(lowercase hex digest, byte count)`.
pub(crate) fn sha256_reader(reader: &mut dyn Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

/// sha256 of a file, streamed (model weights are ~90 MB; never hold them in memory).
pub fn sha256_file(path: &Path) -> Result<(String, u64), AssetError> {
    let mut f = File::open(path).map_err(|e| AssetError::io(path, e))?;
    sha256_reader(&mut f).map_err(|e| AssetError::io(path, e))
}

/// Lowercase hex, the form the catalog stores.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Checks every `(relpath, sha256)` in `files` under `dir`. A missing file is a state, not an
/// error; only unreadable files (permissions, a directory in the way) are errors.
pub fn check_files(name: &str, dir: &Path, files: &[(&str, &str)]) -> Result<AssetStatus, AssetError> {
    let mut states = Vec::with_capacity(files.len());
    let mut bytes = 0u64;
    for (rel, expected) in files {
        let path = dir.join(rel);
        let state = match path.try_exists() {
            Ok(false) => FileState::Missing,
            Err(e) => return Err(AssetError::io(&path, e)),
            Ok(true) => {
                let (actual, len) = sha256_file(&path)?;
                bytes += len;
                if actual.eq_ignore_ascii_case(expected) {
                    FileState::Ok
                } else {
                    FileState::Corrupt { actual_sha256: actual }
                }
            }
        };
        states.push((rel.to_string(), state));
    }
    Ok(AssetStatus {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        files: states,
        bytes,
    })
}

/// Status of an asset described by `spec` (catalog or test-only).
pub fn status_spec(home: &Path, spec: &AssetSpec) -> Result<AssetStatus, AssetError> {
    check_files(spec.name, &spec.dir(home), spec.files)
}

/// Checks every file of a catalog asset under `home`.
pub fn status(home: &Path, asset: Asset) -> Result<AssetStatus, AssetError> {
    status_spec(home, asset.spec())
}

/// `Ok(dir)` when every file of `spec` is intact, else the first problem as an error.
pub fn verify_spec(home: &Path, spec: &AssetSpec) -> Result<PathBuf, AssetError> {
    let st = status_spec(home, spec)?;
    match st.first_problem(spec.files, &spec.repair_command()) {
        None => Ok(st.dir),
        Some(e) => Err(e),
    }
}

/// `Ok(dir)` when every file of a catalog asset is intact; otherwise a `Missing` or `Corrupt`
/// error whose message ends with the repair command.
pub fn verify(home: &Path, asset: Asset) -> Result<PathBuf, AssetError> {
    verify_spec(home, asset.spec())
}
