//! The bundle manifest: versions and the size and sha256 of every file, checked before anything
//! in the bundle is parsed, so a damaged file is refused by name instead of misread.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ExportError, Result};

pub const MANIFEST: &str = "manifest.json";
/// Bumped whenever the layout of a bundle changes; loaders refuse other versions.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT: &str = "canao-bundle";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub canao_version: String,
    /// The model the bundle was exported from (`minilm`).
    pub model: String,
    pub files: BTreeMap<String, FileEntry>,
}

fn bundle_err(file: &str, detail: impl Into<String>) -> ExportError {
    ExportError::Bundle {
        file: file.to_string(),
        detail: detail.into(),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    /// A manifest over the given files (name -> contents).
    pub fn new(model: &str, files: &BTreeMap<String, Vec<u8>>) -> Self {
        Self {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            canao_version: env!("CARGO_PKG_VERSION").into(),
            model: model.into(),
            files: files
                .iter()
                .map(|(name, b)| {
                    (
                        name.clone(),
                        FileEntry {
                            bytes: b.len() as u64,
                            sha256: sha256_hex(b),
                        },
                    )
                })
                .collect(),
        }
    }

    /// Reads and checks `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(dir.join(MANIFEST)).map_err(|e| bundle_err(MANIFEST, e.to_string()))?;
        Self::from_json(&text)
    }

    /// Parses and checks the text of a `manifest.json`.
    pub fn from_json(text: &str) -> Result<Self> {
        let m: Manifest = serde_json::from_str(text).map_err(|e| bundle_err(MANIFEST, e.to_string()))?;
        if m.format != FORMAT || m.format_version != FORMAT_VERSION {
            return Err(bundle_err(
                MANIFEST,
                format!(
                    "is {} version {}, this canao reads {FORMAT} version {FORMAT_VERSION}",
                    m.format, m.format_version
                ),
            ));
        }
        Ok(m)
    }

    /// Reads `name` from `dir` and checks it against its entry: listed, present, of the
    /// recorded size (else truncated or grown) and hash (else modified).
    pub fn verified(&self, dir: &Path, name: &str) -> Result<Vec<u8>> {
        let entry = self
            .files
            .get(name)
            .ok_or_else(|| bundle_err(name, format!("is not listed in {MANIFEST}")))?;
        let bytes = std::fs::read(dir.join(name)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                bundle_err(name, "is missing")
            } else {
                bundle_err(name, e.to_string())
            }
        })?;
        if bytes.len() as u64 != entry.bytes {
            return Err(bundle_err(
                name,
                format!(
                    "is {} bytes, the manifest records {} (truncated or modified)",
                    bytes.len(),
                    entry.bytes
                ),
            ));
        }
        if sha256_hex(&bytes) != entry.sha256 {
            return Err(bundle_err(name, "sha256 differs from the manifest (modified)"));
        }
        Ok(bytes)
    }
}
