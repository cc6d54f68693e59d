//! Timestamp-query profiles: one device time per step, named by IR node and kernel. On an
//! adapter without timestamp queries the profile must say so (None) rather than invent times.
#![cfg(feature = "wgpu")]

mod common;

use canao_interp::random::{random_inputs, random_weights};
use canao_ir::builders::{BertArch, BertLayer};
use canao_ir::{Executable, Runtime, Schedule};
use common::runtime;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn profile_times_every_step_or_says_it_cannot() {
    let Some(rt) = runtime("profile_times_every_step_or_says_it_cannot") else {
        return;
    };
    let g = BertArch {
        vocab: 40,
        max_positions: 40,
        type_vocab: 2,
        seq: 17,
        hidden: 12,
        head_dim: 4,
        layer_norm_eps: 1e-12,
        layers: vec![BertLayer {
            hidden: 12,
            heads: 3,
            ffn: 20,
        }],
    }
    .build()
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let w = random_weights(&g, &mut rng);
    let mut exe = rt.prepare(&g, &w, &Schedule::default()).unwrap();
    let inputs = random_inputs(&g, &mut rng, 40);
    let want = exe.run(&inputs).unwrap();
    let profile = exe.profile().unwrap();
    if !rt.has_timestamps() {
        assert!(profile.is_none(), "no timestamp queries, yet a profile");
        common::skip(&format!("{} has no timestamp queries", rt.describe()));
        return;
    }
    let steps = profile.expect("timestamp queries are supported");
    let plan = canao_wgsl::lower(&g, &w).unwrap();
    assert_eq!(steps.len(), plan.steps.len());
    for (s, p) in steps.iter().zip(&plan.steps) {
        assert_eq!((&s.node, &s.kernel), (&p.node, &p.kernel.name));
        assert!(s.ms.is_finite() && s.ms >= 0.0, "{}: {} ms", s.node, s.ms);
    }
    let total: f64 = steps.iter().map(|s| s.ms).sum();
    assert!(total > 0.0, "every step took zero time");
    // Profiling ran the same work on the same buffers: the outputs are unchanged.
    assert_eq!(exe.run(&inputs).unwrap(), want);
    println!("{} steps, {total:.3} ms of device time", steps.len());
}
