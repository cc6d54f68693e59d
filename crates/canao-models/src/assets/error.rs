//! The one error type of the asset cache.
//!
//! Fields are structured so that the CLI can act on them (print the repair command, list the
//! known names), and every message names the file involved so a user can see what went wrong
//! without a backtrace.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while locating, checking or fetching an asset.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The asset name is not in the catalog.
    #[error("unknown asset `{name}`; known assets: {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },

    /// A catalog file is not on disk. `repair` is the exact command that fixes it.
    #[error("{} is missing; run `{repair}`", file.display())]
    Missing { file: PathBuf, repair: String },

    /// A file's sha256 differs from the catalog. During `fetch`, `file` names the member inside
    /// the downloaded package (e.g. `<wheel>/<member>`), so the culprit package is visible.
    #[error(
        "{} is corrupt: expected sha256 {expected}, found {actual}; run `{repair}`",
        file.display()
    )]
    Corrupt {
        file: PathBuf,
        expected: String,
        actual: String,
        repair: String,
    },

    /// An external tool (pip, apt-get, dpkg-deb) failed; `detail` holds the tail of its stderr.
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },

    /// A filesystem operation failed on `path`.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// An archive (wheel or deb contents) could not be read or lacks an expected member.
    #[error("{}: {detail}", path.display())]
    Archive { path: PathBuf, detail: String },
}

impl AssetError {
    /// Shorthand for wrapping an `io::Error` with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        AssetError::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for an archive problem at `path`.
    pub(crate) fn archive(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        AssetError::Archive {
            path: path.into(),
            detail: detail.into(),
        }
    }
}
