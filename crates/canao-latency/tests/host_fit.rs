//! Profiles say whose they are: a host profile is compared with the running CPU model and
//! instruction set, and the phone profile's coefficients are labelled derived.

use canao_latency::{DeviceProfile, HostFit, Provenance, Source, host_fit};

fn shipped(name: &str) -> DeviceProfile {
    let path = format!("{}/../../device-profiles/{name}.ron", env!("CARGO_MANIFEST_DIR"));
    DeviceProfile::from_ron(&std::fs::read_to_string(&path).unwrap(), &path).unwrap()
}

/// The Intel profile with its model's provenance replaced by one that records `cpu` and `isa`.
fn measured_on(cpu: &str, isa: &str) -> DeviceProfile {
    let mut p = shipped("host-intel-xeon-2c");
    p.provenance.retain(|p| p.figure != "model");
    p.provenance.push(Provenance {
        figure: "model".into(),
        source: Source::Measured {
            host: "vm".into(),
            date: "2026-12-06".into(),
            cpu: Some(cpu.into()),
            isa: Some(isa.into()),
        },
    });
    p
}

#[test]
fn a_host_profile_matches_only_its_cpu_and_instruction_set() {
    let p = measured_on("AMD EPYC", "avx2");
    assert_eq!(host_fit(&p, "AMD EPYC", "avx2"), HostFit::Same);
    let HostFit::Differs(what) = host_fit(&p, "AMD EPYC", "avx512") else {
        panic!("another instruction set must differ")
    };
    assert!(what.contains("avx2") && what.contains("avx512"), "{what}");
    let HostFit::Differs(what) = host_fit(&p, "Intel(R) Xeon(R) Processor", "avx2") else {
        panic!("another CPU must differ")
    };
    assert!(what.contains("AMD EPYC") && what.contains("Xeon"), "{what}");
    // Two generations a VM names alike are told apart by their family and model numbers.
    let zen3 = measured_on("AMD EPYC (family 25, model 1)", "avx2");
    assert!(matches!(
        host_fit(&zen3, "AMD EPYC (family 25, model 17)", "avx2"),
        HostFit::Differs(_)
    ));
}

#[test]
fn an_older_profile_is_compared_on_its_cpu_cluster_name() {
    // The shipped Intel profile predates the recorded instruction set: its CPU model comes from
    // its CPU cluster.
    let p = shipped("host-intel-xeon-2c");
    assert_eq!(host_fit(&p, "Intel(R) Xeon(R) Processor", "avx512"), HostFit::Same);
    assert_eq!(
        host_fit(&p, "Intel(R) Xeon(R) Processor (family 6, model 143)", "avx2"),
        HostFit::Same
    );
    assert!(matches!(host_fit(&p, "AMD EPYC", "avx512"), HostFit::Differs(_)));
}

#[test]
fn the_phone_profile_is_not_a_host_and_its_coefficients_are_derived() {
    let p = shipped("snapdragon-855");
    assert_eq!(host_fit(&p, "AMD EPYC", "avx2"), HostFit::NotHost);
    let source = p
        .model_source()
        .expect("the phone profile says where its model comes from");
    assert_eq!(source.kind(), "derived");
    assert!(
        source.describe().contains("not measured on the device"),
        "{}",
        source.describe()
    );
}
