//! Issue 23: impossible profile values are refused at load, naming the field, instead of giving
//! negative energies or zero runs per battery later.

use canao_latency::{DeviceProfile, LatencyError};

fn phone_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../device-profiles/snapdragon-855.ron");
    std::fs::read_to_string(path).unwrap()
}

fn rt3_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../device-profiles/rt3-reference.ron");
    std::fs::read_to_string(path).unwrap()
}

/// The field the profile with `from` replaced by `to` is refused for.
fn refused_field(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the shipped profile has no `{from}`");
    match DeviceProfile::from_ron(&text.replacen(from, to, 1), "edited.ron") {
        Err(LatencyError::Field { field, origin, .. }) => {
            assert_eq!(origin, "edited.ron");
            field
        }
        other => panic!("`{to}` was not refused by field: {other:?}"),
    }
}

#[test]
fn the_shipped_profiles_load() {
    DeviceProfile::from_ron(&phone_text(), "phone").unwrap();
    DeviceProfile::from_ron(&rt3_text(), "rt3").unwrap();
}

#[test]
fn impossible_values_are_refused_naming_the_field() {
    let phone = phone_text();
    let rt3 = rt3_text();
    let cases = [
        (&phone, "cores: 1,", "cores: 0,", "units[0].cores"),
        (&phone, "max_ghz: 2.84", "max_ghz: -2.84", "units[0].max_ghz"),
        (
            &phone,
            "levels_ghz: [2.84]",
            "levels_ghz: [-1.0]",
            "units[0].levels_ghz[0]",
        ),
        (&phone, "joules: 38808.0", "joules: -38808.0", "battery.joules"),
        (
            &phone,
            "shares: [0.5, 0.3, 0.2]",
            "shares: [1.5, -0.3, -0.2]",
            "battery.shares[1]",
        ),
        (
            &phone,
            "shares: [0.5, 0.3, 0.2]",
            "shares: [0.5, 0.3, 0.3]",
            "battery.shares",
        ),
        (
            &phone,
            "bandwidth_gbs: 34.1",
            "bandwidth_gbs: -34.1",
            "memory.bandwidth_gbs",
        ),
        (&rt3, "nanofarads: 0.1", "nanofarads: -0.1", "dvfs[0].power.nanofarads"),
        (
            &rt3,
            "static_watts: 0.0",
            "static_watts: -5.0",
            "dvfs[0].power.static_watts",
        ),
        (
            &rt3,
            "limit_ms: Some(115.0)",
            "limit_ms: Some(-1.0)",
            "dvfs[0].limit_ms",
        ),
        (&rt3, "reference_ghz: 3.0", "reference_ghz: 0.0", "model.reference_ghz"),
        (
            &rt3,
            "ms_per_10k_mul: 0.014370",
            "ms_per_10k_mul: -0.01",
            "model.ms_per_10k_mul",
        ),
        (&rt3, "ghz: 1.4, volts", "ghz: -1.4, volts", "dvfs[0].ghz"),
        (&rt3, "volts: Some(1.24)", "volts: Some(-1.24)", "dvfs[0].volts"),
        (&rt3, "name: \"rt3-reference\"", "name: \" \"", "name"),
    ];
    for (text, from, to, field) in cases {
        assert_eq!(refused_field(text, from, to), field, "{from} -> {to}");
    }
}

#[test]
fn a_level_that_draws_no_power_or_negative_watts_is_refused() {
    let rt3 = rt3_text();
    let zero = rt3.replacen(
        "nanofarads: 0.1, static_watts: 0.0",
        "nanofarads: 0.0, static_watts: 0.0",
        1,
    );
    assert_eq!(refused_field(&zero, "ghz: 1.4", "ghz: 1.4",), "dvfs[0].power");
    let phone = phone_text();
    let watts = phone.find("Watts(").expect("the phone profile gives watts");
    let end = watts + phone[watts..].find(')').unwrap() + 1;
    let negative = format!("{}Watts(-3.0){}", &phone[..watts], &phone[end..]);
    assert_eq!(refused_field(&negative, "version", "version"), "dvfs[0].power");
}
