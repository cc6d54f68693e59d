//! A quick calibration on the CPU backend fits every kernel class it measures, and the raw data
//! reads as one CSV row per step.

use canao_calibrate::{Options, Timing, calibrate};
use canao_ir::KernelClass;
use canao_latency::calibrate::to_csv;
use canao_latency::measured::Statistic;

#[test]
fn quick_calibration_fits_every_class_it_measures() {
    let opts = Options {
        quick: true,
        threads: 1,
        timing: Timing {
            rounds: 2,
            passes: 2,
            statistic: Statistic::Min,
        },
        seed: 3,
        ghz: 2.0,
        bandwidth_gbs: 10.0,
        resident_bytes: 2.0 * 1024.0 * 1024.0,
    };
    let cal = calibrate(&opts, &mut |_| {}).unwrap();
    let classes: std::collections::BTreeSet<KernelClass> = cal
        .measured
        .iter()
        .flat_map(|m| m.work.iter().map(|w| w.class))
        .collect();
    for c in &classes {
        assert!(cal.fitted.classes.contains_key(c), "no coefficients for {c}");
    }
    assert!(cal.fitted.anchor_ms.is_some_and(|a| a > 0.0));
    assert_eq!(cal.fitted.statistic, Statistic::Min);
    assert!(cal.steps_held_out.count > 0 && cal.totals_held_out.count > 0);
    // Every workload has its end-to-end comparison; the held-out ones make the held-out accuracy.
    assert_eq!(cal.totals.len(), cal.measured.len());
    let held = cal.totals.iter().filter(|t| t.held_out).count();
    assert_eq!(held, cal.totals_held_out.count);
    for t in &cal.totals {
        assert!(t.measured_ms > 0.0 && t.predicted_ms > 0.0, "{t:?}");
    }
    let csv = to_csv(&cal.measured, opts.resident_bytes);
    let steps: usize = cal.measured.iter().map(|m| m.work.len() + 1).sum();
    assert_eq!(
        csv.lines().count(),
        1 + steps,
        "a header, a row per step and a total per workload"
    );
}
