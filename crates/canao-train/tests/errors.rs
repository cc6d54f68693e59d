//! Bad input to training gets typed errors naming the file, parameter, field or step.

mod common;

use canao_ir::builders::LeNetArch;
use canao_train::data::{Split, SplitPart, Task};
use canao_train::{BertClassifier, Constraints, ImageClassification, TrainConfig, TrainError, init_lenet};
use common::*;

/// One epoch of batches of 10, no warm-up, decay or dropout.
fn one_epoch() -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch: 10,
        lr: 1e-3,
        warmup: 0.0,
        weight_decay: 0.0,
        clip_norm: 1.0,
        dropout: 0.0,
        patience: 1,
        checkpoint_every: None,
        seed: 0,
    }
}

#[test]
fn misshaped_missing_and_extra_weights_name_the_parameter() {
    let arch = tiny_bert();
    let g = arch.build_classifier(2).unwrap();
    let w = weights_for(&g, 1);
    let mut bad = w.clone();
    bad.insert_dense("enc.1.attn.q.w", canao_tensor::Tensor::zeros(vec![8, 9]));
    let err = BertClassifier::load(&arch, 2, &bad, &device()).unwrap_err();
    assert!(
        err.to_string().contains("@enc.1.attn.q.w") && err.to_string().contains("[8, 8]"),
        "{err}"
    );
    let mut extra = w.clone();
    extra.insert_dense("enc.9.attn.q.w", canao_tensor::Tensor::zeros(vec![1]));
    let err = BertClassifier::load(&arch, 2, &extra, &device()).unwrap_err();
    assert!(err.to_string().contains("@enc.9.attn.q.w"), "{err}");
    let err = BertClassifier::load(&arch, 3, &w, &device()).unwrap_err();
    assert!(err.to_string().contains("@head.w"), "{err}");
    let mut nan = w.clone();
    nan.insert_dense(
        "head.b",
        canao_tensor::Tensor::new(vec![2], vec![f32::NAN, 0.0]).unwrap(),
    );
    assert!(
        BertClassifier::load(&arch, 2, &nan, &device())
            .unwrap_err()
            .to_string()
            .contains("head.b")
    );
}

#[test]
fn unknown_tasks_oversized_splits_and_bad_settings_are_refused() {
    let err = "imagenet".parse::<Task>().unwrap_err();
    assert!(
        matches!(err, TrainError::UnknownTask { .. }) && err.to_string().contains("fashion-mnist"),
        "{err}"
    );
    let split = Split::shuffled(100, 10, 10).unwrap();
    let err = split.limited(SplitPart::Train, Some(81)).unwrap_err();
    assert!(err.to_string().contains("80"), "{err}");
    let cfg = TrainConfig {
        batch: 0,
        ..one_epoch()
    };
    match cfg.validate().unwrap_err() {
        TrainError::Config { field, .. } => assert_eq!(field, "batch"),
        other => panic!("{other}"),
    }
}

#[test]
fn a_corrupt_checkpoint_is_refused_naming_its_file() {
    let arch = LeNetArch::default();
    let w = init_lenet(&arch, 1).unwrap();
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for i in 0..40 {
        pixels.extend(std::iter::repeat_n((i % 4) as f32, 28 * 28));
        labels.push(i % 4);
    }
    let task = ImageClassification {
        data: canao_train::data::ImageSet {
            shape: [1, 28, 28],
            pixels,
            labels,
            split: Split::shuffled(40, 5, 5).unwrap(),
        },
        arch,
        device: device(),
    };
    let cfg = one_epoch();
    let dir = std::env::temp_dir().join(format!("canao-train-corrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    fit(&task, &w, &cfg, &Constraints::new(), &dir, false).unwrap();
    let ckpt = dir
        .join("checkpoints")
        .join("step-00000003")
        .join("weights.safetensors");
    let bytes = std::fs::read(&ckpt).unwrap();
    std::fs::write(&ckpt, &bytes[..bytes.len() / 2]).unwrap();
    let err = fit(&task, &w, &cfg, &Constraints::new(), &dir, true).unwrap_err();
    assert!(err.to_string().contains("step-00000003"), "{err}");
}
