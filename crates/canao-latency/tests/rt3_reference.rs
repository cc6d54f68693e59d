//! The shipped `rt3-reference` profile against RT3's formulas on hand-checked cases, and profile
//! schema errors.

use canao_ir::builders::LinearArch;
use canao_ir::{Activation, BitMask, Graph, Sparsity};
use canao_latency::{DeviceProfile, count_ops, energy_per_run, rt3_latency_ms, runs_per_battery};

fn reference() -> DeviceProfile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../device-profiles/rt3-reference.ron");
    DeviceProfile::from_ron(&std::fs::read_to_string(path).unwrap(), "rt3-reference.ron").unwrap()
}

/// 10 tokens through a 100 -> 50 linear layer with bias.
fn linear(sparsity: Sparsity) -> Graph {
    let mut g = LinearArch {
        tokens: 10,
        input: 100,
        output: 50,
        bias: true,
        act: Activation::Identity,
    }
    .build()
    .unwrap();
    g.set_sparsity("fc.w", sparsity).unwrap();
    g
}

#[test]
fn reproduces_rt3_latency_energy_and_runs_by_hand() {
    let p = reference();
    let c = count_ops(&linear(Sparsity::Dense));
    // 10 tokens x 5,000 weights: 50,000 multiplies; as many adds plus 500 bias adds.
    assert_eq!((c.mul, c.add), (50_000, 50_500));
    // (5 x 0.014370 + 5.05 x 0.014575) ms at 3 GHz, x 3/1.4 at the high level.
    let want = (5.0 * 0.014370 + 5.05 * 0.014575) * 3.0 / 1.4;
    let got = rt3_latency_ms(&p, c, 0).unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // P = C V^2 f = 0.1e-9 x 1.24^2 x 1.4e9 = 0.215264 W.
    assert!((p.dvfs[0].watts() - 0.215264).abs() < 1e-12);
    let e = energy_per_run(&p, 0, got).unwrap();
    assert!((e - 0.215264 * want / 1e3).abs() < 1e-15);
    let lat: Vec<f64> = (0..3).map(|l| rt3_latency_ms(&p, c, l).unwrap()).collect();
    let runs = runs_per_battery(&p, &lat).unwrap();
    assert_eq!(runs[0].runs, (37800.0 * 0.5 / (0.215264 * want / 1e3)).floor() as u64);
    // Slower levels take longer but, at lower voltage, cost less energy per run.
    assert!(lat[2] > lat[1] && lat[1] > lat[0]);
    assert!(runs[2].joules_per_run < runs[0].joules_per_run);
}

#[test]
fn pruning_is_charged_by_what_it_leaves() {
    let p = reference();
    // Keep 2 of the 4 blocks of 25x50: half the multiplies.
    let half = Sparsity::Block {
        block: [25, 50],
        mask: BitMask(vec![true, false, true, false]),
    };
    let c = count_ops(&linear(half));
    assert_eq!(c.mul, 25_000);
    let dense = rt3_latency_ms(&p, count_ops(&linear(Sparsity::Dense)), 1).unwrap();
    assert!(rt3_latency_ms(&p, c, 1).unwrap() < dense);
    assert!(
        rt3_latency_ms(&p, c, 3)
            .unwrap_err()
            .to_string()
            .contains("no DVFS level 3")
    );
}

#[test]
fn schema_errors_name_the_position_or_field() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../device-profiles/rt3-reference.ron"
    ))
    .unwrap();
    let unknown = text.replacen("ghz: 1.4, volts", "ghz: 1.4, colour: 3, volts", 1);
    let err = DeviceProfile::from_ron(&unknown, "p.ron").unwrap_err().to_string();
    assert!(
        err.contains("p.ron") && err.contains("colour") && err.contains(':'),
        "{err}"
    );
    let old = text.replacen("version: 1", "version: 7", 1);
    let err = DeviceProfile::from_ron(&old, "p.ron").unwrap_err().to_string();
    assert!(err.contains("version") && err.contains('7'), "{err}");
    let shares = text.replacen("[0.5, 0.3, 0.2]", "[0.5, 0.3]", 1);
    assert!(
        DeviceProfile::from_ron(&shares, "p.ron")
            .unwrap_err()
            .to_string()
            .contains("battery.shares")
    );
    // A profile written back reads back equal.
    let p = reference();
    assert_eq!(DeviceProfile::from_ron(&p.to_ron(), "again").unwrap(), p);
}

#[test]
fn reproduces_rt3s_reward_for_two_choices_by_hand() {
    use canao_latency::{OpCounts, Rt3Reward};
    let p = reference();
    let r = Rt3Reward::original();
    let latencies = |n: u64| -> Vec<f64> {
        (0..3)
            .map(|l| rt3_latency_ms(&p, OpCounts { mul: n, add: n }, l).unwrap())
            .collect()
    };
    // 8M multiplies and adds: 49.62 / 69.468 / 86.835 ms, within 115 / 104 / 94. Runs per
    // battery, 4,310,738 in all, and the reward, computed by hand (Python, the formulas of
    // ALGORITHMS.md §4): (0.5*0.95 + 0.3*0.93 + 0.2*0.90 - 0.85) / (0.9745 - 0.85)
    // + (4310738 - 2.3e6) / (4.5e6 - 2.3e6) = 1.5886706133625412.
    let fits = latencies(8_000_000);
    let s = r.score(&p, &fits, Some(&[0.95, 0.93, 0.90])).unwrap();
    assert!(s.meets_limits);
    assert_eq!(s.runs, 4_310_738);
    assert!((s.reward - 1.5886706133625412).abs() < 1e-12, "{}", s.reward);
    // Accuracy rising from the fastest level to the next costs 0.5: 1.1609597699890464.
    let s = r.score(&p, &fits, Some(&[0.95, 0.96, 0.90])).unwrap();
    assert_eq!(s.monotonic, Some(false));
    assert!((s.reward - 1.1609597699890464).abs() < 1e-12, "{}", s.reward);
    // 10M: the slowest level takes 108.54 ms against its 94 ms limit; untrained, the reward is
    // -1 + (3448589 - 2.3e6) / 2.2e6 = -0.47791409090909087.
    let misses = latencies(10_000_000);
    let s = r.score(&p, &misses, None).unwrap();
    assert!(!s.meets_limits);
    assert_eq!(s.runs, 3_448_589);
    assert!((s.reward + 0.47791409090909087).abs() < 1e-12, "{}", s.reward);
    // A choice meeting the limits cannot be scored without its accuracy, nor with too few.
    assert!(r.score(&p, &fits, None).is_err());
    let e = r.score(&p, &fits, Some(&[0.9, 0.9])).unwrap_err();
    assert!(e.to_string().contains("one accuracy entry per DVFS level"), "{e}");
}
