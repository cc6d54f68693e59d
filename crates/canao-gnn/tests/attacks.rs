//! Attacks keep their budget and flip only allowed pairs; greedy finds the worst single flip of a
//! small planted graph; the zeroth-order estimator is unbiased on a smooth function; the
//! search-seam attacks raise the loss.

mod common;

use canao_gnn::attack::zeroth::estimate;
use canao_gnn::attack::{AttackConfig, AttackMethod, Objective, attack, budget_flips};
use canao_gnn::{Adjacency, Dataset, TrainConfig, Trainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn trained(data: &Dataset) -> Trainer {
    let config = TrainConfig {
        epochs: 100,
        dropout: 0.0,
        lr: 0.05,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(data, config, 4).unwrap();
    t.fit(data, &Adjacency::new(&data.graph), |_| {});
    t
}

fn small_config() -> AttackConfig {
    AttackConfig {
        pgd_steps: 15,
        zo_steps: 10,
        search_queries: 48,
        ..AttackConfig::default()
    }
}

#[test]
fn attacks_stay_within_budget_and_graph() {
    let data = common::random_dataset(40, 80, 6, 3, 8);
    let t = trained(&data);
    let obj = Objective::test_nodes(&t.model, &data);
    for method in AttackMethod::ALL {
        for (budget, block) in [(0.05, 4_000_000), (0.2, 4_000_000), (0.2, 300)] {
            let config = AttackConfig {
                block,
                ..small_config()
            };
            let flips = budget_flips(budget, data.graph.edge_count()).unwrap();
            let out = attack(method, &config, &obj, flips, &mut ChaCha8Rng::seed_from_u64(1));
            assert!(
                out.len() <= flips,
                "{method:?} at {budget}: {} flips over {flips}",
                out.len()
            );
            assert!(!out.is_empty(), "{method:?} at {budget} flipped nothing");
            // Distinct, ordered, in range, not loops: exactly what Graph::flipped accepts.
            assert!(out.iter().all(|&(u, v)| u < v && v < data.nodes()));
            data.graph.flipped(&out).unwrap();
        }
    }
    assert!(budget_flips(1.5, 10).is_err() && budget_flips(-0.1, 10).is_err());
    assert_eq!(budget_flips(0.0, 10).unwrap(), 0);
}

/// Two communities of 7 (cliques less an edge) joined by one edge, one-hot features; the targets
/// are in community A. Brute force over all pairs gives the worst single flip.
#[test]
fn greedy_finds_the_worst_single_flip_of_a_planted_graph() {
    let mut data = common::random_dataset(14, 1, 4, 2, 3);
    let mut edges = Vec::new();
    for c in [0usize, 7] {
        for u in c..c + 7 {
            for v in u + 1..c + 7 {
                edges.push((u, v));
            }
        }
    }
    edges.retain(|&(u, v)| (u, v) != (1, 2) && (u, v) != (8, 9));
    edges.push((6, 7));
    data.graph = canao_gnn::Graph::new(14, edges).unwrap();
    // One-hot features: what the model knows of a node comes from the structure.
    let bits: Vec<u8> = (0..14 * 14).map(|k| u8::from(k / 14 == k % 14)).collect();
    data.features = canao_gnn::features::Features::from_dense_binary(14, 14, &bits);
    data.labels = (0..14).map(|i| Some(usize::from(i >= 7))).collect();
    (data.train, data.val, data.test) = (vec![0, 3, 5, 7, 10, 12], vec![4, 11], vec![1, 2, 6]);
    let t = trained(&data);
    let obj = Objective::test_nodes(&t.model, &data);
    let mut best = ((0, 0), f32::NEG_INFINITY);
    for u in 0..14 {
        for v in u + 1..14 {
            let loss = obj.flipped_loss(&[(u, v)]);
            if loss > best.1 {
                best = ((u, v), loss);
            }
        }
    }
    let greedy = attack(
        AttackMethod::Greedy,
        &small_config(),
        &obj,
        1,
        &mut ChaCha8Rng::seed_from_u64(0),
    );
    assert_eq!(
        greedy,
        vec![best.0],
        "brute force worst flip {:?} (loss {})",
        best.0,
        best.1
    );
}

#[test]
fn zeroth_order_estimate_is_unbiased_on_a_smooth_function() {
    let a = [0.5f32, -1.0, 2.0, 0.3, 1.5, -0.7];
    let f = |x: &[f32]| {
        x.iter()
            .zip(&a)
            .enumerate()
            .map(|(i, (x, a))| a * x * x + (i as f32 - 2.0) * x)
            .sum::<f32>()
    };
    let x = [0.2f32, -0.4, 0.1, 0.9, -0.3, 0.5];
    let truth: Vec<f32> = x
        .iter()
        .zip(&a)
        .enumerate()
        .map(|(i, (x, a))| 2.0 * a * x + (i as f32 - 2.0))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let reps = 4000;
    let mut mean = vec![0.0f32; 6];
    for _ in 0..reps {
        let g = estimate(f, &x, 0.01, 5, &mut rng);
        mean.iter_mut().zip(&g).for_each(|(m, g)| *m += g / reps as f32);
    }
    let norm = truth.iter().map(|t| t * t).sum::<f32>().sqrt();
    let err = mean
        .iter()
        .zip(&truth)
        .map(|(m, t)| (m - t) * (m - t))
        .sum::<f32>()
        .sqrt();
    assert!(err < 0.1 * norm, "mean estimate {mean:?} vs gradient {truth:?}");
}

#[test]
fn search_strategies_raise_the_attack_loss() {
    let data = common::random_dataset(40, 80, 6, 3, 8);
    let t = trained(&data);
    let obj = Objective::test_nodes(&t.model, &data);
    let clean = obj.flipped_loss(&[]);
    for method in [AttackMethod::SearchGreedy, AttackMethod::SearchZerothOrder] {
        let out = attack(method, &small_config(), &obj, 8, &mut ChaCha8Rng::seed_from_u64(3));
        let loss = obj.flipped_loss(&out);
        assert!(
            loss > clean,
            "{method:?}: loss {loss} after {} flips, clean {clean}",
            out.len()
        );
    }
}
