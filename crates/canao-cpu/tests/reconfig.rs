//! RT3's run-time reconfiguration: a small BERT encoder with a pattern set per DVFS level drawn
//! from its own weights; after any sequence of switches the plan's outputs are exactly those of
//! the model prepared for that level alone, and match the interpreter.

use std::collections::BTreeMap;

use canao_compress::{CandidateConfig, with_pattern_sets};
use canao_cpu::{CpuRuntime, Isa, Reconfigurable};
use canao_interp::Interpreter;
use canao_interp::random::{random_inputs, random_weights};
use canao_ir::builders::{BertArch, BertLayer};
use canao_ir::{Executable, Graph, Runtime, Schedule, Weights};
use canao_tensor::{Tensor, tolerance};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn encoder(seq: usize, ffn: usize) -> Graph {
    BertArch {
        vocab: 30,
        max_positions: 20,
        type_vocab: 2,
        seq,
        hidden: 16,
        head_dim: 4,
        layer_norm_eps: 1e-12,
        layers: vec![BertLayer {
            hidden: 16,
            heads: 4,
            ffn,
        }],
    }
    .build()
    .unwrap()
}

/// Level `l` of the model: every encoder weight under 4 candidates at sparsity `sparsity`.
fn at_level(base: &Graph, w: &Weights, sparsity: f64) -> Graph {
    let config = CandidateConfig {
        block: 4,
        blocks: 3,
        draws: 4,
        maps: 4,
        seed: 5,
    };
    with_pattern_sets(base, w, &config, sparsity, |n| {
        n.starts_with("enc") && n.ends_with(".w")
    })
    .unwrap()
}

fn run_alone(g: &Graph, w: &Weights, inputs: &BTreeMap<String, Tensor>, isa: Isa) -> Vec<Tensor> {
    let mut exe = CpuRuntime.prepare_isa(g, w, &Schedule { threads: 1 }, isa).unwrap();
    exe.run(inputs).unwrap()
}

#[test]
fn switching_gives_each_levels_own_outputs_exactly() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let base = encoder(9, 24);
    let w = random_weights(&base, &mut rng);
    let inputs = random_inputs(&base, &mut rng, 30);
    let levels: Vec<Graph> = [0.25, 0.5, 0.87].iter().map(|&s| at_level(&base, &w, s)).collect();
    for isa in Isa::available() {
        let mut model = Reconfigurable::prepare(&levels, &w, &Schedule { threads: 1 }, isa).unwrap();
        assert_eq!((model.levels(), model.active()), (3, 0));
        let bytes = model.packed_bytes();
        assert!(bytes[2] < bytes[0], "a sparser set packs smaller: {bytes:?}");
        for l in [0, 2, 1, 1, 0, 2, 0] {
            model.switch(l).unwrap();
            assert_eq!(model.active(), l);
            let got = model.exe().run(&inputs).unwrap();
            assert_eq!(got, run_alone(&levels[l], &w, &inputs, isa), "level {l} on {isa}");
            let want = Interpreter
                .prepare(&levels[l], &w, &Schedule::default())
                .unwrap()
                .run(&inputs)
                .unwrap();
            for (x, y) in got[0].data().iter().zip(want[0].data()) {
                assert!(
                    (x - y).abs() <= tolerance::KERNEL_ABS * (1.0 + y.abs()),
                    "level {l}: {x} vs {y}"
                );
            }
        }
        assert_eq!(model.packed_bytes(), bytes, "switching moves the sets, it copies none");
    }
}

#[test]
fn levels_that_are_not_one_model_and_bad_switches_are_refused() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let base = encoder(9, 24);
    let w = random_weights(&base, &mut rng);
    let isa = Isa::active().unwrap();
    let mut wider = encoder(9, 24);
    wider
        .set_sparsity("enc.0.ffn.in.w", canao_ir::Sparsity::Circulant { block: 5 })
        .unwrap();
    let mut model = Reconfigurable::prepare(std::slice::from_ref(&base), &w, &Schedule::default(), isa).unwrap();
    let e = model.switch(1).unwrap_err().to_string();
    assert!(e.contains("level 1 out of range"), "{e}");
    // Another sequence length is another plan over the same weights, not another level.
    let refused = |levels: &[Graph]| match Reconfigurable::prepare(levels, &w, &Schedule::default(), isa) {
        Ok(_) => panic!("levels accepted"),
        Err(e) => e.to_string(),
    };
    let e = refused(&[base.clone(), encoder(12, 24)]);
    assert!(e.contains("level 1") && e.contains("same model"), "{e}");
    // A level whose weights do not fit is named.
    let other = encoder(9, 20);
    let e = refused(&[base, other]);
    assert!(e.contains("level 1") && e.contains("enc.0.ffn.in"), "{e}");
    assert!(Reconfigurable::prepare(&[], &w, &Schedule::default(), isa).is_err());
}
