//! Writing outputs so that a failure leaves nothing behind: everything goes to a temporary
//! file or folder beside the destination (same file system, so the final rename is atomic) and
//! is renamed into place only once complete.

use std::path::{Path, PathBuf};

use crate::error::{ExportError, Result};

/// A sibling of `path` named `{name}.partial`: visible, so that what a killed export leaves is
/// plain to see, and the same name every time, so that the next export replaces it.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!("{name}.partial"))
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |cause| ExportError::Write {
        path: path.to_path_buf(),
        cause,
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_beside(path);
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(write_err(path))
}

/// Fills a temporary folder beside `dir` with `fill`, then renames it to `dir`. An existing
/// `dir` is replaced only when it is empty or holds `marker` (an earlier output of the same
/// kind), so a mistyped path cannot wipe an unrelated folder.
pub fn write_dir(dir: &Path, marker: &str, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir).map_err(write_err(dir))?.next().is_none();
        if !empty && !dir.join(marker).exists() {
            return Err(ExportError::Write {
                path: dir.to_path_buf(),
                cause: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("exists and holds no {marker}; refusing to replace it"),
                ),
            });
        }
    }
    let tmp = temp_beside(dir);
    let _ = std::fs::remove_dir_all(&tmp);
    let result = std::fs::create_dir(&tmp)
        .map_err(write_err(dir))
        .and_then(|()| fill(&tmp));
    let result = result.and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(write_err(dir))?;
        }
        std::fs::rename(&tmp, dir).map_err(write_err(dir))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("canao-atomic-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Issue 23: what a killed export leaves is visible beside the output, and the next export
    /// to the same path replaces it (the same name every time, no process id).
    #[test]
    fn the_temporary_name_is_visible_and_stable() {
        let tmp = temp_beside(Path::new("out/model.onnx"));
        assert_eq!(tmp, Path::new("out/model.onnx.partial"));
        let d = scratch("stale");
        std::fs::write(d.join("m.onnx.partial"), b"killed half-way").unwrap();
        write_file(&d.join("m.onnx"), b"whole").unwrap();
        assert_eq!(std::fs::read(d.join("m.onnx")).unwrap(), b"whole");
        assert!(!d.join("m.onnx.partial").exists());
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn unwritable_destination_is_an_error_and_leaves_nothing() {
        let d = scratch("file");
        let missing = d.join("no-such-dir").join("model.onnx");
        let err = write_file(&missing, b"abc").unwrap_err().to_string();
        assert!(err.contains("model.onnx"), "{err}");
        // The destination is a folder: the temporary file is written, the rename fails.
        let target = d.join("taken");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), b"x").unwrap();
        assert!(write_file(&target, b"abc").is_err());
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("taken")], "no temporary file left");
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn a_failed_fill_leaves_no_folder_and_foreign_folders_are_kept() {
        let d = scratch("dir");
        let out = d.join("bundle");
        let err = write_dir(&out, "manifest.json", |tmp| {
            std::fs::write(tmp.join("half"), b"x").unwrap();
            Err(ExportError::Bundle {
                file: "half".into(),
                detail: "stopped".into(),
            })
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0, "nothing left behind");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("notes.txt"), b"mine").unwrap();
        let err = write_dir(&out, "manifest.json", |_| Ok(())).unwrap_err().to_string();
        assert!(err.contains("refusing"), "{err}");
        assert!(out.join("notes.txt").exists());
        std::fs::remove_dir_all(&d).ok();
    }
}
