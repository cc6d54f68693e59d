//! The training loop on small models and data: it learns, honours structure constraints,
//! resumes after a crash to the same end, and stops on a non-finite loss naming its checkpoint.

mod common;

use std::cell::Cell;
use std::path::PathBuf;

use canao_ir::builders::LeNetArch;
use canao_ir::{Sparsity, Weights};
use canao_models::assets;
use canao_train::data::{ImageSet, SplitPart, load_digits};
use canao_train::layers::Dropout;
use canao_train::{
    Constraints, ImageClassification, LeNet, Learner, TextClassification, TrainConfig, TrainError, init_lenet, params,
    train,
};
use common::*;

fn digits() -> ImageSet {
    let dir = assets::ensure(&assets::canao_home(), assets::Asset::Digits, &mut |l| eprintln!("{l}")).unwrap();
    load_digits(&dir.join("digits.csv.gz")).unwrap()
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("canao-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn config(epochs: usize, batch: usize, lr: f64) -> TrainConfig {
    TrainConfig {
        epochs,
        batch,
        lr,
        warmup: 0.05,
        weight_decay: 1e-4,
        clip_norm: 1.0,
        dropout: 0.1,
        patience: 10,
        checkpoint_every: None,
        seed: 3,
    }
}

fn lenet_task() -> ImageClassification {
    ImageClassification {
        data: digits(),
        arch: LeNetArch::default(),
        device: device(),
    }
}

#[test]
fn lenet_learns_the_digits() {
    let task = lenet_task();
    let w = init_lenet(&task.arch, 1).unwrap();
    let out = out_dir("lenet");
    let outcome = fit(&task, &w, &config(3, 32, 2e-3), &Constraints::new(), &out, false).unwrap();
    eprintln!(
        "LeNet-5 on the digits, 3 epochs: test accuracy {:.4}",
        outcome.test_accuracy
    );
    assert!(outcome.test_accuracy >= 0.9, "test accuracy {}", outcome.test_accuracy);
    assert_eq!(outcome.state.history.len(), 3);
    assert!(out.join("metrics.jsonl").exists() && out.join("best.safetensors").exists());
}

#[test]
fn tiny_bert_learns_a_digits_token_task() {
    let arch = small_bert();
    let task = TextClassification {
        data: digit_tokens(&digits()),
        arch: arch.clone(),
        classes: 10,
        device: device(),
    };
    let w = small_bert_weights(&arch, 10, 2);
    let cfg = TrainConfig {
        dropout: 0.0,
        ..config(6, 32, 3e-3)
    };
    let outcome = fit(&task, &w, &cfg, &Constraints::new(), &out_dir("bert"), false).unwrap();
    eprintln!(
        "2-layer BERT (width 32) on digit tokens: test accuracy {:.4}",
        outcome.test_accuracy
    );
    assert!(outcome.test_accuracy >= 0.8, "test accuracy {}", outcome.test_accuracy);
}

/// Checks every b x b tile of `w` [rows, cols] has equal entries along each wrapped diagonal.
fn exactly_circulant(w: &canao_tensor::Tensor, b: usize) -> bool {
    let [rows, cols] = [w.shape()[0], w.shape()[1]];
    let at = |r: usize, c: usize| w.data()[r * cols + c];
    (0..rows).all(|r| {
        (0..cols).all(|c| {
            let (tr, tc) = (r / b * b, c / b * b);
            let d = (r % b + b - c % b) % b;
            // The tile's first-column entry of the same diagonal, if inside the matrix.
            let r0 = tr + d;
            r0 >= rows || at(r0, tc) == at(r, c)
        })
    })
}

#[test]
fn trained_weights_stay_in_their_structure_and_run_on_the_cpu_backend() {
    let task = lenet_task();
    let w = init_lenet(&task.arch, 5).unwrap();
    let mut c = Constraints::new();
    let fc1 = w.dense("fc1.w").unwrap();
    let mask = canao_compress::block_magnitude("fc1.w", fc1, [16, 16], 0.5).unwrap();
    c.insert("fc1.w", fc1.shape(), mask.clone()).unwrap();
    c.insert(
        "fc2.w",
        w.dense("fc2.w").unwrap().shape(),
        Sparsity::Circulant { block: 4 },
    )
    .unwrap();
    let outcome = fit(&task, &w, &config(1, 32, 2e-3), &c, &out_dir("constraint"), false).unwrap();
    let trained: Weights = params::export(&outcome.model);
    let fc1 = trained.dense("fc1.w").unwrap();
    let Sparsity::Block { mask: bits, .. } = &mask else {
        unreachable!()
    };
    let cols = fc1.shape()[1];
    let grid_cols = cols.div_ceil(16);
    let mut zeros = 0;
    for (i, v) in fc1.data().iter().enumerate() {
        let (r, col) = (i / cols, i % cols);
        if !bits.0[(r / 16) * grid_cols + col / 16] {
            assert_eq!(*v, 0.0, "fc1.w[{r},{col}] is masked but {v}");
            zeros += 1;
        }
    }
    assert!(zeros > 0);
    assert!(
        exactly_circulant(trained.dense("fc2.w").unwrap(), 4),
        "fc2.w is not exactly circulant"
    );
    // The constraint is the IR's sparsity: the CPU backend's sparse kernels give burn's logits.
    let arch = LeNetArch {
        batch: 3,
        ..task.arch.clone()
    };
    let mut g = arch.build().unwrap();
    c.apply_to(&mut g).unwrap();
    let items = &task.data.split.test[..3];
    let model = LeNet::load(&arch, &trained, &device()).unwrap();
    let want = values(&model.forward(task.images(items, &device())));
    let d = max_diff(&want, &lenet_cpu_logits(&task, &g, &trained, items));
    assert!(d < 1e-4, "CPU backend logits differ from burn's by {d}");
}

#[test]
fn a_resumed_run_ends_like_an_uninterrupted_one() {
    let task = lenet_task();
    let w = init_lenet(&task.arch, 7).unwrap();
    let cfg = TrainConfig {
        checkpoint_every: Some(7),
        ..config(2, 64, 2e-3)
    };
    let whole = fit(&task, &w, &cfg, &Constraints::new(), &out_dir("whole"), false).unwrap();
    let dir = out_dir("killed");
    // A crash after step 25 (of 2 x 20): the last checkpoint is step 21, mid-epoch.
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(
            &task,
            task.load(&w).unwrap(),
            &cfg,
            &Constraints::new(),
            &dir,
            false,
            &mut |p| {
                assert!(p.step < 25, "simulated crash");
            },
        )
    }));
    assert!(crashed.is_err());
    let resumed = fit(&task, &w, &cfg, &Constraints::new(), &dir, true).unwrap();
    assert_eq!(resumed.test_accuracy, whole.test_accuracy);
    assert_eq!(
        params::export(&resumed.model),
        params::export(&whole.model),
        "final weights differ"
    );
    assert_eq!(resumed.state.step, whole.state.step);
    let losses = |s: &canao_train::checkpoint::LoopState| s.history.iter().map(|e| e.train_loss).collect::<Vec<_>>();
    assert_eq!(losses(&resumed.state), losses(&whole.state));
    let lines = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let steps = lines.lines().filter(|l| l.contains("\"kind\":\"step\"")).count() as u64;
    assert_eq!(steps, whole.state.step, "metrics.jsonl holds each step once");
}

/// Wraps a learner so its loss turns NaN from step `from` on.
struct Poisoned {
    inner: ImageClassification,
    calls: Cell<u64>,
    from: u64,
}

impl Learner for Poisoned {
    type Model = LeNet;
    fn epoch_batches(&self, batch: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<Vec<usize>> {
        self.inner.epoch_batches(batch, rng)
    }
    fn loss(&self, model: &LeNet, items: &[usize], noise: &mut Dropout) -> burn::tensor::Tensor<1> {
        self.calls.set(self.calls.get() + 1);
        let loss = self.inner.loss(model, items, noise);
        if self.calls.get() > self.from {
            loss * f32::NAN
        } else {
            loss
        }
    }
    fn accuracy(&self, model: &LeNet, part: SplitPart) -> f64 {
        self.inner.accuracy(model, part)
    }
    fn load(&self, weights: &Weights) -> canao_train::Result<LeNet> {
        self.inner.load(weights)
    }
}

#[test]
fn a_non_finite_loss_stops_with_the_step_and_the_last_checkpoint() {
    let task = Poisoned {
        inner: lenet_task(),
        calls: Cell::new(0),
        from: 15,
    };
    let w = init_lenet(&task.inner.arch, 8).unwrap();
    let cfg = TrainConfig {
        checkpoint_every: Some(10),
        ..config(1, 64, 2e-3)
    };
    let dir = out_dir("nan");
    let err = fit(&task, &w, &cfg, &Constraints::new(), &dir, false).unwrap_err();
    match &err {
        TrainError::NonFiniteLoss { step, last_good, .. } => {
            assert_eq!(*step, 15);
            assert_eq!(
                last_good.as_deref(),
                Some(dir.join("checkpoints").join("step-00000010").as_path())
            );
        }
        other => panic!("expected a non-finite loss error, got {other}"),
    }
    assert!(err.to_string().contains("step-00000010"), "{err}");
}
