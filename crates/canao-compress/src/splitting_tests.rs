//! The update rules on a two-weight layer whose expected values are worked out by hand below:
//! one weight of two stays (irregular), rho = 0.1, SLR with M = 300, r = 0.1, s0 = 0.01.

use super::*;

const RHO: f64 = 0.1;

fn layer() -> Vec<Layer> {
    vec![Layer {
        param: "w".into(),
        shape: [1, 2],
        structure: Structure::Irregular,
        keep: 1,
        rows: Rows::Any,
    }]
}

fn weights(w: [f32; 2]) -> Weights {
    let mut ws = Weights::new();
    ws.insert_dense("w", Tensor::new(vec![1, 2], w.to_vec()).unwrap());
    ws
}

fn close(got: &[f32], want: &[f64]) {
    for (g, w) in got.iter().zip(want) {
        assert!((f64::from(*g) - w).abs() < 1e-5, "{got:?} against {want:?}");
    }
}

#[test]
fn admm_projects_then_accumulates_the_residual() {
    let mut split = Splitting::new(SplitMethod::Admm { interval: 1 }, RHO, layer(), &weights([3.0, 1.0])).unwrap();
    // Z0 = Proj([3, 1]) = [3, 0], U0 = 0: the target is Z0.
    close(&split.target(0), &[3.0, 0.0]);
    // Z = Proj([2.9, 0.5] + 0) = [2.9, 0]; U = [2.9, 0.5] - [2.9, 0] = [0, 0.5].
    let r = split.update(0, &weights([2.9, 0.5]), 1.0).unwrap();
    assert!(r.updated);
    close(&split.target(0), &[2.9, -0.5]);
    assert!((r.primal_residual - 0.5).abs() < 1e-6);
    // Z = Proj([2.8, 0.4] + [0, 0.5]) = [2.8, 0]; U = [0, 0.5] + [0, 0.4].
    split.update(1, &weights([2.8, 0.4]), 1.0).unwrap();
    close(&split.target(0), &[2.8, -0.9]);
}

#[test]
fn admm_waits_for_its_interval() {
    let mut split = Splitting::new(SplitMethod::Admm { interval: 2 }, RHO, layer(), &weights([3.0, 1.0])).unwrap();
    assert!(!split.update(0, &weights([2.9, 0.5]), 1.0).unwrap().updated);
    close(&split.target(0), &[3.0, 0.0]);
    assert!(split.update(1, &weights([2.9, 0.5]), 1.0).unwrap().updated);
}

#[test]
fn slr_step_size_checks_and_reverts() {
    let slr = SplitMethod::Slr(SlrParams::default());
    let mut split = Splitting::new(slr, RHO, layer(), &weights([3.0, 1.0])).unwrap();
    let alpha = |k: f64| 1.0 - 1.0 / (300.0 * k.powf(1.0 - 1.0 / k.powf(0.1)));

    // Epoch 0, W = [2.9, 0.5], loss 1. k = 1 skips the first check.
    // n1 = ||W0 - Z0|| = ||[0, 1]|| = 1, n2 = ||W - Z0|| = ||[-0.1, 0.5]|| = sqrt(0.26).
    let s1 = 0.01 * alpha(1.0) * 1.0 / 0.26f64.sqrt();
    // U = (s1 / rho) (W - Z0); then Z = Proj(W + U) keeps the first weight.
    let u1 = [10.0 * s1 * -0.1, 10.0 * s1 * 0.5];
    let z1 = [2.9 + u1[0], 0.0];
    // Second check, k = 2: L(W, Z1) = 1 + 0.05 ||W - Z1 + U||^2 against the previous loss 0 plus
    // 0.05 ||W - Z0 + U||^2: fails (the previous loss starts at 0), so Z1 stays, U too.
    let r = split.update(0, &weights([2.9, 0.5]), 1.0).unwrap();
    assert_eq!((r.first_check, r.second_check, r.k), (Some(true), Some(false), Some(2)));
    assert!((r.step_size.unwrap() / s1 - 1.0).abs() < 1e-6);
    close(&split.target(0), &[z1[0] - u1[0], -u1[1]]);

    // Epoch 1, W = [2.85, 0.2], loss 0.8. First check: 0.8 + 0.05 ||W - Z0 + U||^2 against
    // 1 + 0.05 ||W_prev - Z0 + U||^2 holds. n1 = ||W_prev - Z0|| = sqrt(0.26),
    // n2 = ||W - Z0|| = ||[-0.15, 0.2]|| = 0.25.
    let s2 = s1 * alpha(2.0) * 0.26f64.sqrt() / 0.25;
    let u2 = [u1[0] + 10.0 * s2 * -0.15, u1[1] + 10.0 * s2 * 0.2];
    let z2 = [2.85 + u2[0], 0.0];
    // Second check: 0.8 + 0.05 ||W - Z2 + U2||^2 against 1.0 + 0.05 ||W - Z1 + U2||^2 holds.
    // n1 = ||W_prev - Z_prev|| = ||W - Z1||, n2 = ||W - Z2||.
    let n1 = ((2.85 - z1[0]).powi(2) + 0.2f64.powi(2)).sqrt();
    let n2 = ((2.85 - z2[0]).powi(2) + 0.2f64.powi(2)).sqrt();
    let s3 = s2 * alpha(3.0) * n1 / n2;
    let u3 = [u2[0] + 10.0 * s3 * (2.85 - z2[0]), u2[1] + 10.0 * s3 * 0.2];
    let r = split.update(1, &weights([2.85, 0.2]), 0.8).unwrap();
    assert_eq!((r.first_check, r.second_check, r.k), (Some(true), Some(true), Some(4)));
    assert!(
        (r.step_size.unwrap() / s3 - 1.0).abs() < 1e-6,
        "{:?} against {s3}",
        r.step_size
    );
    close(&split.target(0), &[z2[0] - u3[0], -u3[1]]);

    // Epoch 2, loss 5: both checks fail. The multiplier, the step size and k stay; Z is
    // re-projected from W + U3.
    let r = split.update(2, &weights([2.8, 0.1]), 5.0).unwrap();
    assert_eq!(
        (r.first_check, r.second_check, r.k),
        (Some(false), Some(false), Some(4))
    );
    assert!((r.step_size.unwrap() / s3 - 1.0).abs() < 1e-6);
    close(&split.target(0), &[2.8, -u3[1]]);
}

#[test]
fn state_round_trips() {
    let slr = SplitMethod::Slr(SlrParams::default());
    let mut split = Splitting::new(slr, RHO, layer(), &weights([3.0, 1.0])).unwrap();
    split.update(0, &weights([2.9, 0.5]), 1.0).unwrap();
    let (tensors, scalars) = split.state();
    let mut saved = Weights::new();
    for (name, t) in tensors {
        saved.insert_dense(name, t);
    }
    let mut fresh = Splitting::new(slr, RHO, layer(), &weights([3.0, 1.0])).unwrap();
    fresh.restore(&saved, scalars).unwrap();
    assert_eq!(fresh, split);
    let err = fresh.restore(&Weights::new(), scalars).unwrap_err();
    assert!(err.to_string().contains("z/w"), "{err}");
}

#[test]
fn refuses_divergence_and_bad_settings() {
    let mut split = Splitting::new(SplitMethod::Admm { interval: 1 }, RHO, layer(), &weights([3.0, 1.0])).unwrap();
    let err = split.update(4, &weights([f32::NAN, 0.5]), 1.0).unwrap_err();
    assert!(
        err.to_string().contains("`w`") && err.to_string().contains("epoch 4"),
        "{err}"
    );
    assert!(split.update(0, &weights([1.0, 0.5]), f64::NAN).is_err());
    for (method, rho) in [
        (SplitMethod::Admm { interval: 0 }, RHO),
        (SplitMethod::Admm { interval: 1 }, -1.0),
        (
            SplitMethod::Slr(SlrParams {
                s0: 0.0,
                ..SlrParams::default()
            }),
            RHO,
        ),
    ] {
        assert!(Splitting::new(method, rho, layer(), &weights([3.0, 1.0])).is_err());
    }
}

#[test]
fn hard_prune_gives_the_mask_of_the_weights() {
    let split = Splitting::new(SplitMethod::Admm { interval: 1 }, RHO, layer(), &weights([3.0, 1.0])).unwrap();
    let masks = split.hard_prune(&weights([0.1, -2.0])).unwrap();
    assert_eq!(
        masks,
        vec![(
            "w".to_string(),
            Sparsity::Block {
                block: [1, 1],
                mask: canao_ir::BitMask(vec![false, true])
            }
        )]
    );
}
