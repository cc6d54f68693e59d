//! Fast, offline tests of the asset cache; the one real download is `#[ignore]`d.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::extract::extract_zip;
use super::*;

/// sha256 of b"hello\n".
const HELLO_SHA: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

const TEST_SPEC: AssetSpec = AssetSpec {
    name: "test-asset",
    description: "test only",
    source: "test only",
    origin: Origin::Deb {
        package: "none",
        dir: "/nonexistent",
    },
    files: &[("hello.txt", HELLO_SHA), ("sub/hello.txt", HELLO_SHA)],
};

/// A fresh, unique temp folder removed on drop.
struct TempHome(PathBuf);

impl TempHome {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "canao-assets-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp home");
        TempHome(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, bytes).expect("write");
}

#[test]
fn catalog_names_and_lookup() {
    let names: Vec<_> = catalog().iter().map(|s| s.name).collect();
    assert_eq!(names, ["minilm", "rotten-tomatoes", "digits", "fashion-mnist"]);
    assert_eq!(Asset::Minilm.spec().files.len(), 8);
    for s in catalog() {
        for (_, sha) in s.files {
            assert_eq!(sha.len(), 64);
            assert!(sha.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
}

#[test]
fn unknown_name_lists_known_names() {
    let err = "mnist".parse::<Asset>().expect_err("unknown");
    assert!(matches!(&err, AssetError::Unknown { name, known } if name == "mnist" && known.len() == 4));
    let msg = err.to_string();
    for known in ["minilm", "rotten-tomatoes", "digits", "fashion-mnist"] {
        assert!(msg.contains(known), "{msg}");
    }
    assert!(matches!("x".parse::<Asset>(), Err(AssetError::Unknown { .. })));
}

#[test]
fn missing_file_names_file_and_repair() {
    let home = TempHome::new();
    let st = status(home.path(), Asset::Digits).expect("status");
    assert!(!st.is_ok());
    assert_eq!(st.files, vec![("digits.csv.gz".to_string(), FileState::Missing)]);
    assert_eq!(st.bytes, 0);
    let err = verify(home.path(), Asset::Digits).expect_err("missing");
    let expected_file = home.path().join("digits").join("digits.csv.gz");
    assert!(
        matches!(&err, AssetError::Missing { file, repair } if *file == expected_file && repair == "canao assets fetch digits")
    );
    let msg = err.to_string();
    assert!(msg.contains(&expected_file.display().to_string()), "{msg}");
    assert!(msg.ends_with("run `canao assets fetch digits`"), "{msg}");
}

#[test]
fn corrupt_file_reports_actual_sha() {
    let home = TempHome::new();
    write(&home.path().join("digits/digits.csv.gz"), b"hello\n");
    let st = status(home.path(), Asset::Digits).expect("status");
    assert_eq!(
        st.files[0].1,
        FileState::Corrupt {
            actual_sha256: HELLO_SHA.to_string()
        }
    );
    assert_eq!(st.bytes, 6);
    let err = verify(home.path(), Asset::Digits).expect_err("corrupt");
    match &err {
        AssetError::Corrupt {
            file,
            expected,
            actual,
            repair,
        } => {
            assert_eq!(*file, home.path().join("digits").join("digits.csv.gz"));
            assert_eq!(expected, Asset::Digits.spec().files[0].1);
            assert_eq!(actual, HELLO_SHA);
            assert_eq!(repair, "canao assets fetch digits");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(err.to_string().ends_with("run `canao assets fetch digits`"));
    // ensure must not overwrite a corrupt file (and must not reach the network).
    let err = ensure(home.path(), Asset::Digits, &mut |_| {}).expect_err("corrupt");
    assert!(matches!(err, AssetError::Corrupt { .. }));
}

#[test]
fn correct_files_verify_ok() {
    let home = TempHome::new();
    let dir = TEST_SPEC.dir(home.path());
    write(&dir.join("hello.txt"), b"hello\n");
    // Only one of two files present: missing, naming the second.
    match verify_spec(home.path(), &TEST_SPEC) {
        Err(AssetError::Missing { file, repair }) => {
            assert_eq!(file, dir.join("sub/hello.txt"));
            assert_eq!(repair, "canao assets fetch test-asset");
        }
        other => panic!("expected Missing, got {other:?}"),
    }
    write(&dir.join("sub/hello.txt"), b"hello\n");
    assert_eq!(verify_spec(home.path(), &TEST_SPEC).expect("ok"), dir);
    let st = status_spec(home.path(), &TEST_SPEC).expect("status");
    assert!(st.is_ok());
    assert_eq!(st.bytes, 12);
    // fetch_spec skips work when everything is already ok.
    let mut lines = Vec::new();
    let got = fetch_spec(home.path(), &TEST_SPEC, &mut |l| lines.push(l.to_string()));
    assert_eq!(got.expect("fetch skipped"), dir);
    assert!(lines[0].contains("already ok"), "{lines:?}");
}

#[test]
fn directory_in_place_of_file_is_an_error_not_a_panic() {
    let home = TempHome::new();
    fs::create_dir_all(home.path().join("digits/digits.csv.gz")).expect("mkdir");
    assert!(matches!(status(home.path(), Asset::Digits), Err(AssetError::Io { .. })));
}

fn make_zip(path: &Path, members: &[(&str, &[u8])]) {
    let file = fs::File::create(path).expect("create zip");
    let mut zw = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zw.start_file(*name, opts).expect("start");
        zw.write_all(bytes).expect("write member");
    }
    zw.finish().expect("finish");
}

#[test]
fn extract_zip_writes_verified_and_extra_members() {
    let home = TempHome::new();
    let zip_path = home.path().join("pkg-1.0-py3-none-any.whl");
    make_zip(
        &zip_path,
        &[
            ("pkg/model/hello.txt", b"hello\n"),
            ("pkg/model/sub/hello.txt", b"hello\n"),
            ("pkg/model/README.md", b"extra"),
            ("pkg/other.py", b"not extracted"),
        ],
    );
    let dest = TEST_SPEC.dir(home.path());
    let n = extract_zip(&zip_path, "pkg/model/", TEST_SPEC.files, true, &dest, "r").expect("ok");
    assert_eq!(n, 3);
    assert!(verify_spec(home.path(), &TEST_SPEC).is_ok());
    assert_eq!(fs::read(dest.join("README.md")).expect("extra"), b"extra");
    assert!(!dest.join("other.py").exists());
    // No temp files left behind.
    let leftovers: Vec<_> = fs::read_dir(&dest)
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn extract_zip_missing_member_is_archive_error() {
    let home = TempHome::new();
    let zip_path = home.path().join("pkg.whl");
    make_zip(&zip_path, &[("pkg/model/hello.txt", b"hello\n")]);
    let dest = home.path().join("out");
    let err = extract_zip(&zip_path, "pkg/model/", TEST_SPEC.files, false, &dest, "r").expect_err("missing member");
    match &err {
        AssetError::Archive { path, detail } => {
            assert_eq!(*path, zip_path);
            assert!(detail.contains("pkg/model/sub/hello.txt"), "{detail}");
        }
        other => panic!("expected Archive, got {other:?}"),
    }
    assert!(err.to_string().contains("pkg/model/sub/hello.txt"));
    // Nothing was written: members are resolved before extraction starts.
    assert!(!dest.exists());
}

#[test]
fn extract_zip_bad_content_is_corrupt_and_keeps_old_file() {
    let home = TempHome::new();
    let zip_path = home.path().join("pkg-2.0.whl");
    make_zip(
        &zip_path,
        &[("pkg/hello.txt", b"HELLO\n"), ("pkg/sub/hello.txt", b"hello\n")],
    );
    let dest = home.path().join("out");
    write(&dest.join("hello.txt"), b"old");
    let err =
        extract_zip(&zip_path, "pkg/", TEST_SPEC.files, false, &dest, "canao assets fetch t").expect_err("corrupt");
    match &err {
        AssetError::Corrupt { file, expected, .. } => {
            assert_eq!(*file, PathBuf::from("pkg-2.0.whl/pkg/hello.txt"));
            assert_eq!(expected, HELLO_SHA);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(fs::read(dest.join("hello.txt")).expect("old"), b"old");
}

#[test]
fn not_a_zip_is_archive_error() {
    let home = TempHome::new();
    let path = home.path().join("bad.whl");
    write(&path, b"not a zip");
    let err = extract_zip(&path, "", TEST_SPEC.files, false, home.path(), "r").expect_err("bad");
    assert!(matches!(err, AssetError::Archive { .. }));
}

#[test]
fn canao_home_is_absolute_or_env() {
    // Reading only: the environment is shared between parallel tests.
    let home = canao_home();
    match std::env::var_os("CANAO_HOME").filter(|v| !v.is_empty()) {
        Some(v) => assert_eq!(home, PathBuf::from(v)),
        None => assert!(home.ends_with("canao") || home.ends_with("canao-cache")),
    }
}

/// Real download (~13 MB from PyPI). Run with
/// `CANAO_HOME=/tmp/canao-home-test cargo test -p canao-models --lib assets -- --ignored real_fetch_digits`.
#[test]
#[ignore = "downloads scikit-learn from PyPI"]
fn real_fetch_digits() {
    let home = canao_home();
    let dir = fetch(&home, Asset::Digits, &mut |l| eprintln!("{l}")).expect("fetch digits");
    assert_eq!(verify(&home, Asset::Digits).expect("verify"), dir);
    // A second fetch is a no-op, and ensure succeeds offline.
    fetch(&home, Asset::Digits, &mut |l| eprintln!("{l}")).expect("refetch");
    ensure(&home, Asset::Digits, &mut |l| eprintln!("{l}")).expect("ensure");
}
