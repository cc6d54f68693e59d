//! Issue 19 as a user meets it: a forced instruction set that this CPU lacks or that does not
//! exist is an error naming the variable; a host profile fitted on another CPU is refused (or,
//! with --other-host, used with a warning); the phone profile's coefficients say they are derived.

use std::path::Path;
use std::process::Output;

mod common;

use common::{repo, text};

/// canao in `dir` with `CANAO_CPU_ISA` set to `isa`, or unset.
fn canao(dir: &Path, isa: Option<&str>, args: &[&str]) -> Output {
    let mut c = common::canao();
    c.current_dir(dir).args(args).env_remove("CANAO_CPU_ISA");
    if let Some(isa) = isa {
        c.env("CANAO_CPU_ISA", isa);
    }
    c.output().expect("canao runs")
}

#[test]
fn a_forced_instruction_set_must_exist_and_run_here() {
    let scratch = tempfile::tempdir().unwrap();
    let o = canao(scratch.path(), Some("sse9"), &["bench", "kernels", "--quick"]);
    let err = text(&o.stderr);
    assert!(
        !o.status.success() && err.contains("CANAO_CPU_ISA=sse9") && err.contains("avx512, avx2, neon or portable"),
        "{err}"
    );
    #[cfg(target_arch = "x86_64")]
    let missing = "neon";
    #[cfg(not(target_arch = "x86_64"))]
    let missing = "avx2";
    let o = canao(scratch.path(), Some(missing), &["bench", "kernels", "--quick"]);
    let err = text(&o.stderr);
    assert!(
        !o.status.success() && err.contains(&format!("cannot run the {missing} path")),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn host_profiles_are_checked_against_this_host_and_the_phone_profile_is_derived() {
    let scratch = tempfile::tempdir().unwrap();
    let here = scratch.path();
    let student = repo("archs/minilm-student.ron");
    let predict = |device: &str, extra: &[&str]| {
        let args = ["predict", "--device", device, "--arch", student.to_str().unwrap()];
        canao(here, Some("portable"), &[&args[..], extra].concat())
    };
    let o = predict("snapdragon-855", &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("coefficients: derived, not measured on the device"),
        "{}",
        text(&o.stdout)
    );
    let o = predict("snapdragon-855", &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(v["model_source"], "derived");

    // A host profile whose CPU is not this one.
    let other = std::fs::read_to_string(repo("device-profiles/host-intel-xeon-2c.ron"))
        .unwrap()
        .replace("Intel(R) Xeon(R) Processor", "No Such CPU 9000");
    let path = here.join("other-host.ron");
    std::fs::write(&path, other).unwrap();
    let o = predict(path.to_str().unwrap(), &[]);
    let err = text(&o.stderr);
    assert!(!o.status.success(), "a profile of another CPU must be refused");
    for w in [
        "does not describe this host",
        "No Such CPU 9000",
        "canao profile",
        "--other-host",
    ] {
        assert!(err.contains(w), "`{w}` missing from: {err}");
    }
    let o = predict(path.to_str().unwrap(), &["--other-host"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("WARNING"), "{}", text(&o.stderr));
}
