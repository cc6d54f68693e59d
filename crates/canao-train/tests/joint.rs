//! RT3's joint training on LeNet-5 and the digits: the joint loss and its gradient are the
//! levels' weighted masked ones, training keeps every level accurate, a level's masked weights
//! run on the CPU backend with burn's logits, and bad masks are refused by parameter.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::optim::GradientsParams;
use canao_ir::builders::LeNetArch;
use canao_ir::{BitMask, Sparsity, Weights};
use canao_models::assets;
use canao_train::data::{ImageSet, SplitPart, load_digits};
use canao_train::joint::{JointLearner, LevelMasks};
use canao_train::layers::Dropout;
use canao_train::{Constraints, ImageClassification, LeNet, Learner, TrainConfig, TrainError, init_lenet, params};
use common::*;
use rand::SeedableRng;

fn task() -> ImageClassification {
    let dir = assets::ensure(&assets::canao_home(), assets::Asset::Digits, &mut |l| eprintln!("{l}")).unwrap();
    let data: ImageSet = load_digits(&dir.join("digits.csv.gz")).unwrap();
    ImageClassification {
        data,
        arch: LeNetArch::default(),
        device: device(),
    }
}

/// A pattern sparsity of `name` with two 4 x 4 patterns keeping `keep` of 16 entries each,
/// assigned to the tiles by their energy.
fn patterns(w: &Weights, name: &str, keep: usize) -> Sparsity {
    let t = w.dense(name).unwrap();
    let [rows, cols] = [t.shape()[0], t.shape()[1]];
    let first = BitMask((0..16).map(|i| i < keep).collect());
    let last = BitMask((0..16).map(|i| i >= 16 - keep).collect());
    canao_compress::assign_patterns(name, t.data(), [rows, cols], 4, &[first, last]).unwrap()
}

fn levels(w: &Weights) -> Vec<LevelMasks> {
    let mut a = BTreeMap::new();
    a.insert("fc1.w".to_string(), patterns(w, "fc1.w", 8));
    let mut b = BTreeMap::new();
    b.insert("fc1.w".to_string(), patterns(w, "fc1.w", 4));
    b.insert(
        "fc2.w".to_string(),
        canao_compress::block_magnitude("fc2.w", w.dense("fc2.w").unwrap(), [4, 4], 0.5).unwrap(),
    );
    vec![
        LevelMasks::new(0.6, &a, w).unwrap(),
        LevelMasks::new(0.4, &b, w).unwrap(),
    ]
}

fn quiet() -> Dropout {
    Dropout {
        rate: 0.0,
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(0),
    }
}

fn grad_of(model: &LeNet, loss: burn::tensor::Tensor<1>, name: &str) -> Vec<f32> {
    let grads = GradientsParams::from_grads(loss.backward(), model);
    values(&grads.get::<2>(params::param_id(name)).unwrap())
}

#[test]
fn the_joint_loss_and_its_gradient_are_the_levels_weighted_masked_ones() {
    let task = task();
    let w = init_lenet(&task.arch, 11).unwrap();
    let levels = levels(&w);
    let masks: Vec<Weights> = levels.iter().map(|l| l.apply_weights(&w).unwrap()).collect();
    let joint = JointLearner::new(&task, levels.clone()).unwrap();
    let items: Vec<usize> = task.data.split.train[..16].to_vec();

    let model = joint.load(&w).unwrap();
    let loss = joint.loss(&model, &items, &mut quiet());
    let value = loss.clone().into_scalar::<f32>();
    let got = grad_of(&model, loss, "fc1.w");

    let mut want_value = 0.0;
    let mut want = vec![0.0f32; got.len()];
    for (level, masked) in levels.iter().zip(&masks) {
        let m = task.load(masked).unwrap();
        let loss = task.loss(&m, &items, &mut quiet());
        want_value += level.weight as f32 * loss.clone().into_scalar::<f32>();
        let g = grad_of(&m, loss, "fc1.w");
        // d/dW of L(W * M) is M * dL/d(W * M).
        let mask = level.mask("fc1.w").unwrap();
        for ((acc, gi), k) in want.iter_mut().zip(&g).zip(mask.data()) {
            *acc += level.weight as f32 * k * gi;
        }
    }
    assert!(
        (value - want_value).abs() < 1e-5,
        "joint loss {value}, levels' {want_value}"
    );
    let d = max_diff(&got, &want);
    assert!(d < 1e-6, "joint gradient differs from the levels' masked ones by {d}");
    // An entry every level drops gets no gradient at all.
    let dropped_everywhere = masks[0]
        .dense("fc1.w")
        .unwrap()
        .data()
        .iter()
        .zip(masks[1].dense("fc1.w").unwrap().data())
        .zip(w.dense("fc1.w").unwrap().data())
        .zip(&got)
        .filter(|(((a, b), orig), _)| **a == 0.0 && **b == 0.0 && **orig != 0.0)
        .map(|(_, g)| *g)
        .collect::<Vec<_>>();
    assert!(!dropped_everywhere.is_empty());
    assert!(dropped_everywhere.iter().all(|g| *g == 0.0));
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("canao-joint-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn joint_training_keeps_every_level_accurate_and_a_level_runs_on_the_cpu_backend() {
    let task = task();
    let w = init_lenet(&task.arch, 12).unwrap();
    let joint = JointLearner::new(&task, levels(&w)).unwrap();
    let config = TrainConfig {
        epochs: 2,
        batch: 32,
        lr: 2e-3,
        warmup: 0.05,
        weight_decay: 1e-4,
        clip_norm: 0.5,
        dropout: 0.0,
        patience: 5,
        checkpoint_every: None,
        seed: 4,
    };
    let out = out_dir("train");
    let outcome = canao_train::train(
        &joint,
        joint.load(&w).unwrap(),
        &config,
        &Constraints::new(),
        &out,
        false,
        &mut |_| {},
    )
    .unwrap();
    let accuracy = joint.accuracy_per_level(&outcome.model, SplitPart::Test);
    eprintln!("LeNet-5 on the digits, jointly trained under two levels: test accuracy {accuracy:?}");
    assert!(accuracy.iter().all(|&a| a >= 0.8), "{accuracy:?}");
    std::fs::remove_dir_all(&out).ok();

    // Level 1's weights, masked, are what its IR graph (with its sparsity) runs.
    let trained = params::export(&outcome.model);
    let level = &joint.levels[1];
    let masked = level.apply_weights(&trained).unwrap();
    let arch = LeNetArch {
        batch: 3,
        ..task.arch.clone()
    };
    let mut g = arch.build().unwrap();
    g.set_sparsity("fc1.w", patterns(&w, "fc1.w", 4)).unwrap();
    g.set_sparsity(
        "fc2.w",
        canao_compress::block_magnitude("fc2.w", w.dense("fc2.w").unwrap(), [4, 4], 0.5).unwrap(),
    )
    .unwrap();
    let items = &task.data.split.test[..3];
    let burn_model = level.apply(LeNet::load(&arch, &trained, &device()).unwrap());
    let want = values(&burn_model.forward(task.images(items, &device())));
    let d = max_diff(&want, &lenet_cpu_logits(&task, &g, &masked, items));
    assert!(d < 1e-4, "CPU backend logits differ from burn's masked model by {d}");
}

#[test]
fn masks_that_are_not_masks_or_name_no_parameter_are_refused() {
    let task = task();
    let w = init_lenet(&task.arch, 13).unwrap();
    let mut circulant = BTreeMap::new();
    circulant.insert("fc2.w".to_string(), Sparsity::Circulant { block: 4 });
    let e = LevelMasks::new(1.0, &circulant, &w).unwrap_err();
    assert!(matches!(&e, TrainError::Param { param, .. } if param == "fc2.w"), "{e}");

    let mut unknown = BTreeMap::new();
    unknown.insert("fc9.w".to_string(), patterns(&w, "fc1.w", 8));
    let e = LevelMasks::new(1.0, &unknown, &w).unwrap_err();
    assert!(matches!(&e, TrainError::Param { param, .. } if param == "fc9.w"), "{e}");

    let e = LevelMasks::new(f64::NAN, &BTreeMap::new(), &w).unwrap_err();
    assert!(e.to_string().contains("level weight"), "{e}");
    let e = JointLearner::new(&task, Vec::new()).unwrap_err();
    assert!(e.to_string().contains("at least one level"), "{e}");
}
