//! The fitted latency model: shipped profiles load, coefficients are non-negative costs, and
//! more work within a class is never predicted faster. (Calibrating on the CPU backend is
//! tested in canao-calibrate.)

use canao_ir::{KernelClass, StepWork, WeightFormat, Work};
use canao_latency::calibrate::fit;
use canao_latency::measured::Statistic;
use canao_latency::{CostModel, DeviceProfile, FEATURE_NAMES, LatencyError, LatencyModel, energy_per_run};
use proptest::prelude::*;

const FEATURES: usize = Work::NAMES.len();
const DENSE: KernelClass = KernelClass::Linear(WeightFormat::Dense);

fn shipped(name: &str) -> DeviceProfile {
    let path = format!("{}/../../device-profiles/{name}.ron", env!("CARGO_MANIFEST_DIR"));
    DeviceProfile::from_ron(&std::fs::read_to_string(&path).unwrap(), &path).unwrap()
}

fn step(class: KernelClass, f: [f64; FEATURES]) -> StepWork {
    let work = Work {
        calls: f[0],
        macs: f[1],
        macs_h4: f[2],
        macs_h1: f[3],
        elements: f[4],
        transcendentals: f[5],
        weight_bytes: f[6],
        act_bytes: f[7],
        runs: f[8],
    };
    assert_eq!(work.values(), f, "the schema's field order");
    StepWork { class, work }
}

#[test]
fn shipped_fitted_profiles_load_with_non_negative_coefficients() {
    for name in [
        "host-intel-xeon-2c",
        "host-amd-epyc-2c",
        "host-amd-epyc-2c-avx2",
        "host-amd-epyc-zen3-2c",
        "snapdragon-855",
    ] {
        let p = shipped(name);
        let CostModel::Fitted(f) = &p.model else {
            panic!("{name} should have a fitted model")
        };
        assert!(f.classes.contains_key(&DENSE) && f.classes.contains_key(&KernelClass::Attention));
        for coefs in f.classes.values() {
            assert!(coefs.values().all(|&v| v >= 0.0 && v.is_finite()));
        }
        for level in 0..p.dvfs.len() {
            LatencyModel::new(&p, level).unwrap();
        }
    }
}

#[test]
fn bad_coefficients_are_refused_by_name() {
    let text = std::fs::read_to_string(format!(
        "{}/../../device-profiles/snapdragon-855.ron",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let negative = text.replacen("\"macs\": ", "\"macs\": -", 1);
    let e = DeviceProfile::from_ron(&negative, "neg.ron").unwrap_err().to_string();
    assert!(
        e.contains("neg.ron") && e.contains("macs") && e.contains("non-negative"),
        "{e}"
    );
    let unknown = text.replacen("\"macs\": ", "\"flops\": ", 1);
    let e = DeviceProfile::from_ron(&unknown, "unknown.ron")
        .unwrap_err()
        .to_string();
    assert!(e.contains("flops") && e.contains("unknown feature"), "{e}");
}

#[test]
fn slower_levels_predict_longer_and_energy_is_power_times_time() {
    let p = shipped("snapdragon-855");
    let mut f = [0.0; FEATURES];
    f[0] = 1.0;
    f[1] = 1e8;
    let work = vec![step(DENSE, f)];
    let ms: Vec<f64> = (0..p.dvfs.len())
        .map(|l| LatencyModel::new(&p, l).unwrap().predict(&work).unwrap().total_ms)
        .collect();
    assert!(ms.windows(2).all(|w| w[1] > w[0]), "{ms:?}");
    // Compute-bound work scales with the clock: max level 2.42 GHz, mid 1.8 GHz.
    assert!((ms[1] / ms[0] - 2.42 / 1.8).abs() < 1e-9);
    let j = energy_per_run(&p, 1, ms[1]).unwrap();
    assert!((j - 3.0 * ms[1] / 1e3).abs() < 1e-12);
}

#[test]
fn a_class_the_profile_lacks_or_does_not_know_is_an_error_naming_it() {
    let p = shipped("host-intel-xeon-2c");
    let m = LatencyModel::new(&p, 0).unwrap();
    let e = m.predict(&[step(KernelClass::SpMM, [0.0; FEATURES])]).unwrap_err();
    assert!(
        matches!(
            e,
            LatencyError::Class {
                class: KernelClass::SpMM,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("`spmm`"), "{e}");
    let path = format!(
        "{}/../../device-profiles/snapdragon-855.ron",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let e = DeviceProfile::from_ron(&text.replacen("\"linear/dense\"", "\"linear/quantum\"", 1), "q.ron")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("q.ron") && e.contains("linear/quantum") && e.contains("linear/block/h8"),
        "{e}"
    );
}

proptest! {
    #[test]
    fn more_work_in_a_class_is_never_predicted_faster(
        base in proptest::collection::vec(0.0f64..1e7, FEATURES),
        extra in proptest::collection::vec(0.0f64..1e6, FEATURES),
        class_index in 0usize..8,
    ) {
        let p = shipped("host-intel-xeon-2c");
        let CostModel::Fitted(f) = &p.model else { unreachable!() };
        let class = *f.classes.keys().nth(class_index % f.classes.len()).unwrap();
        let m = LatencyModel::new(&p, 0).unwrap();
        let a: [f64; FEATURES] = base.clone().try_into().unwrap();
        let b: [f64; FEATURES] = base.iter().zip(&extra).map(|(x, y)| x + y).collect::<Vec<_>>().try_into().unwrap();
        // The spill share depends on the plan's total weights, so keep one step per plan.
        let pa = m.predict(&[step(class, a)]).unwrap().total_ms;
        let pb = m.predict(&[step(class, b)]).unwrap().total_ms;
        prop_assert!(pb >= pa, "{class}: {pb} < {pa}");
    }
}

#[test]
fn the_fit_recovers_costs_and_never_goes_negative() {
    // Synthetic class: 500 ns per call + 0.02 ns per MAC, and a decoy feature that plain least
    // squares would give a negative cost (-0.05 ns per element).
    let mut rows = Vec::new();
    for i in 1..40 {
        let mut r = [0.0; FEATURE_NAMES.len()];
        r[0] = 1.0;
        r[1] = i as f64 * 1e5;
        r[4] = ((i * 7) % 5) as f64 * 1e3;
        rows.push((DENSE, r, 500.0 + 0.02 * r[1] - 0.05 * r[4]));
    }
    let c = &fit(&rows)[&DENSE];
    assert!(c.values().all(|&v| v >= 0.0), "{c:?}");
    assert_eq!(c["elements"], 0.0);
    assert!((c["macs"] - 0.02).abs() < 2e-3, "{c:?}");
    assert!(c["calls"] > 0.0, "{c:?}");
}

#[test]
fn rounds_reduce_by_the_chosen_statistic() {
    let rounds = vec![3.0, 1.0, 9.0, 2.0, 5.0];
    assert_eq!(Statistic::Min.of(rounds.clone()), 1.0);
    assert_eq!(Statistic::Median.of(rounds), 3.0);
    assert_eq!("min".parse::<Statistic>(), Ok(Statistic::Min));
    assert!("mean".parse::<Statistic>().unwrap_err().contains("min or median"));
}
