//! RT3's pattern-set space on a small random encoder and the `rt3-reference` profile: points
//! decode to canonical choices, each level's weights get the picked patterns, a choice that misses
//! a limit is scored untrained at -1 plus its runs term, and one that meets every limit is trained
//! (here by a stand-in scorer) and scored by RT3's formula, checked by hand.

use std::sync::atomic::{AtomicUsize, Ordering};

use canao_compress::CandidateConfig;
use canao_cpu::CpuRuntime;
use canao_ir::builders::{BertArch, BertLayer};
use canao_ir::{Graph, Sparsity, Weights};
use canao_latency::{DeviceProfile, Rt3Reward, runs_per_battery};
use canao_models::StudentArch;
use canao_search::pattern_sets::{JointScorer, LevelAccuracy, LevelSparsity, PatternObjective, PatternSpace};
use canao_search::{Objective, SearchError};
use rand::SeedableRng;

fn rt3_reference() -> DeviceProfile {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../device-profiles/rt3-reference.ron");
    DeviceProfile::from_ron(&std::fs::read_to_string(path).unwrap(), "rt3-reference.ron").unwrap()
}

fn encoder() -> (Graph, Weights) {
    let arch = BertArch {
        vocab: 30,
        max_positions: 16,
        type_vocab: 2,
        seq: 8,
        hidden: 16,
        head_dim: 4,
        layer_norm_eps: 1e-12,
        layers: vec![
            BertLayer {
                hidden: 16,
                heads: 4,
                ffn: 32,
            };
            2
        ],
    };
    StudentArch::identity(&arch)
        .random_model(&arch, 8, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1))
        .unwrap()
}

const SLOTS: usize = 2;
const SPARSITIES: [f64; 3] = [0.25, 0.5, 0.87];
const MAPS: usize = 2;

fn space(weights: &Weights) -> PatternSpace {
    let groups: Vec<Vec<String>> = (0..2)
        .map(|l| {
            canao_models::prunable(weights)
                .into_iter()
                .filter(|n| n.starts_with(&format!("enc.{l}.")))
                .collect()
        })
        .collect();
    let config = CandidateConfig {
        block: 4,
        blocks: 3,
        draws: 4,
        maps: MAPS,
        seed: 2,
    };
    PatternSpace::new(weights, groups, &config, &SPARSITIES, 3, SLOTS).unwrap()
}

/// Stands in for joint training: fixed accuracies, and a count of the choices it trained.
#[derive(Debug, Default)]
struct Fixed {
    trained: AtomicUsize,
}

impl JointScorer for Fixed {
    fn accuracy_per_level(&self, levels: &LevelSparsity) -> canao_search::Result<LevelAccuracy> {
        assert_eq!(levels.len(), 3);
        self.trained.fetch_add(1, Ordering::SeqCst);
        Ok(LevelAccuracy {
            selection: vec![0.96, 0.93, 0.91],
            held_out: vec![0.5, 0.6, 0.7],
        })
    }
}

/// Every pick of every level at candidate `c`.
fn uniform(space: &PatternSpace, c: usize) -> Vec<usize> {
    vec![c; space.cardinalities().len()]
}

#[test]
fn points_decode_to_canonical_choices_with_the_picked_patterns() {
    let (_, weights) = encoder();
    let space = space(&weights);
    assert_eq!(space.choices(), MAPS * SPARSITIES.len());
    assert_eq!(space.cardinalities().len(), 3 * 2 * SLOTS);
    let mut point: Vec<usize> = (0..space.cardinalities().len()).map(|i| i % space.choices()).collect();
    let choice = space.decode(&point).unwrap();
    // Swapping a group's two picks names the same set.
    point.swap(0, 1);
    assert_eq!(space.decode(&point).unwrap(), choice);
    let levels = space.sparsity(&choice, &weights).unwrap();
    assert_eq!(levels.len(), 3);
    for (level, picks) in levels.iter().zip(&choice.0) {
        assert_eq!(level.len(), canao_models::prunable(&weights).len());
        for (name, s) in level {
            let group = usize::from(name.starts_with("enc.1."));
            let Sparsity::Pattern { patterns, .. } = s else {
                panic!("{name}: {s:?}")
            };
            assert_eq!(patterns.len(), picks[group].len(), "{name}");
        }
    }
    // A repeated pick is one pattern.
    let one = space.decode(&uniform(&space, 3)).unwrap();
    assert!(one.0.iter().flatten().all(|picks| picks == &vec![3]));

    let short = space.decode(&[0, 1]).unwrap_err();
    assert!(matches!(short, SearchError::Point { .. }), "{short}");
    let mut out_of_range = uniform(&space, 0);
    out_of_range[5] = space.choices();
    assert!(matches!(space.decode(&out_of_range), Err(SearchError::Point { .. })));
}

#[test]
fn rt3_reward_of_a_choice_that_misses_a_limit_and_of_one_that_meets_them() {
    let (graph, weights) = encoder();
    let space = space(&weights);
    // Candidate 0 is the lightest sparsity (0.25), the last one the heaviest (0.87).
    let (light, heavy) = (uniform(&space, 0), uniform(&space, space.choices() - 1));
    let scorer = Fixed::default();
    let mut objective = PatternObjective {
        space,
        graph,
        weights: &weights,
        runtime: CpuRuntime,
        profile: rt3_reference(),
        reward: Rt3Reward::original(),
        scorer: &scorer,
    };
    let ms = |o: &PatternObjective<'_, CpuRuntime>, p: &[usize]| {
        o.latency_per_level(&o.space.sparsity(&o.space.decode(p).unwrap(), &weights).unwrap())
            .unwrap()
    };
    let (light_ms, heavy_ms) = (ms(&objective, &light), ms(&objective, &heavy));
    for l in 0..3 {
        assert!(heavy_ms[l] < light_ms[l], "level {l}: {heavy_ms:?} vs {light_ms:?}");
        // Limits between the two: the heavy choice meets them, the light one misses.
        objective.profile.dvfs[l].limit_ms = Some((light_ms[l] + heavy_ms[l]) / 2.0);
    }
    let runs = |ms: &[f64]| -> f64 {
        runs_per_battery(&objective.profile, ms)
            .unwrap()
            .iter()
            .map(|l| l.runs as f64)
            .sum()
    };
    let runs_term = |ms: &[f64]| (runs(ms) - 2.3e6) / (4.5e6 - 2.3e6);

    let missed = objective.evaluate(&light).unwrap();
    assert_eq!(
        scorer.trained.load(Ordering::SeqCst),
        0,
        "a choice missing a limit is not trained"
    );
    assert!(
        (missed.score - (-1.0 + runs_term(&light_ms))).abs() < 1e-9,
        "{missed:?}"
    );
    assert_eq!(missed.extra["trained"], 0.0);

    let met = objective.evaluate(&heavy).unwrap();
    assert_eq!(scorer.trained.load(Ordering::SeqCst), 1);
    let weighted = 0.5 * 0.96 + 0.3 * 0.93 + 0.2 * 0.91;
    let want = (weighted - 0.85) / (0.9745 - 0.85) + runs_term(&heavy_ms);
    assert!((met.score - want).abs() < 1e-9, "{} vs {want}", met.score);
    assert!((met.accuracy - weighted).abs() < 1e-12);
    assert_eq!(met.extra["accuracy_mid"], 0.93);
    // The held-out accuracy is logged, not scored (it rises here and the reward saw no penalty).
    assert_eq!(met.extra["held_out_accuracy_low"], 0.7);
    assert_eq!(met.extra["monotonic"], 1.0);
    assert_eq!(met.latency_ms, heavy_ms[0]);

    // Keys name the choice, not the point: the same sets in another order share one.
    let mut swapped = heavy.clone();
    swapped[0] = 0;
    let mut again = heavy.clone();
    again[1] = 0;
    assert_eq!(objective.key(&swapped).unwrap(), objective.key(&again).unwrap());
    assert_ne!(objective.key(&heavy).unwrap(), objective.key(&again).unwrap());
}
