//! Pruning LeNet-5 on the digits by ADMM, SLR, group Lasso and magnitude: the result has the rate asked for,
//! lies in its structure, runs on the CPU backend as burn computes it, and a killed SLR run
//! resumes to the same end; a small BERT pruned to blocks keeps a tile in every row of tiles;
//! circulant pruning of LeNet-5 and of the small BERT compresses by its block and runs on the CPU
//! backend.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use canao_compress::{Rows, SlrParams, Structure};
use canao_ir::builders::LeNetArch;
use canao_ir::{Sparsity, Weights};
use canao_models::assets;
use canao_train::data::load_digits;
use canao_train::{
    BertClassifier, Constraints, GroupLassoParams, ImageClassification, LeNet, PruneConfig, PruneMethod,
    TextClassification, TrainConfig, init_lenet, params, prune,
};
use common::*;

fn task() -> ImageClassification {
    let dir = assets::ensure(&assets::canao_home(), assets::Asset::Digits, &mut |l| eprintln!("{l}")).unwrap();
    ImageClassification {
        data: load_digits(&dir.join("digits.csv.gz")).unwrap(),
        arch: LeNetArch::default(),
        device: device(),
    }
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("canao-prune-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn phase(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch: 32,
        lr: 2e-3,
        warmup: 0.0,
        weight_decay: 1e-4,
        clip_norm: 1.0,
        dropout: 0.0,
        patience: epochs,
        checkpoint_every: Some(30),
        seed: 4,
    }
}

fn config(method: PruneMethod, structure: Structure, rate: f64, layers: &[&str]) -> PruneConfig {
    PruneConfig {
        method,
        structure,
        rate,
        rho: 0.1,
        split: phase(2),
        retrain: phase(1),
        layers: layers.iter().map(|s| s.to_string()).collect(),
        rows: Rows::Any,
        layer_rates: Default::default(),
    }
}

/// A LeNet-5 trained for two epochs on the digits (the model every test prunes), trained once
/// per process: tests run on parallel threads and would otherwise share its checkpoint folder.
fn trained(task: &ImageClassification) -> &'static Weights {
    static DENSE: OnceLock<Weights> = OnceLock::new();
    DENSE.get_or_init(|| {
        let w = init_lenet(&task.arch, 2).unwrap();
        let out = fit(task, &w, &phase(2), &Constraints::new(), &out_dir("dense"), false).unwrap();
        params::export(&out.model)
    })
}

/// Total over kept weights when each layer keeps `Structure::keep_for_rate` whole groups of
/// equal size (tiles that divide the matrix).
fn exact_rate(w: &Weights, layers: &[&str], structure: Structure, rate: f64) -> f64 {
    let (mut total, mut kept) = (0, 0);
    for &name in layers {
        let t = w.dense(name).unwrap();
        let shape = [t.shape()[0], t.len() / t.shape()[0]];
        let tile = structure.tile(shape);
        assert_eq!([shape[0] % tile[0], shape[1] % tile[1]], [0, 0], "{name} {shape:?}");
        total += t.len();
        kept += structure.keep_for_rate(name, shape, rate).unwrap() * tile[0] * tile[1];
    }
    total as f64 / kept as f64
}

fn slr() -> PruneMethod {
    PruneMethod::Slr(SlrParams::default())
}

#[test]
fn pruned_models_have_their_rate_stay_in_structure_and_run_on_the_cpu_backend() {
    let task = task();
    let dense = trained(&task);
    let hidden = ["conv1.w", "conv2.w", "fc1.w", "fc2.w"];
    for (method, structure) in [
        (slr(), Structure::Filter),
        (PruneMethod::Admm { interval: 1 }, Structure::Block { rows: 2, cols: 5 }),
        (PruneMethod::Magnitude, Structure::Filter),
        (PruneMethod::GroupLasso(GroupLassoParams::dynamic()), Structure::Column),
        (
            PruneMethod::GroupLasso(GroupLassoParams::reweighted()),
            Structure::Irregular,
        ),
    ] {
        let cfg = config(method, structure, 2.0, &hidden);
        let out = out_dir(method.name());
        let pruned = prune(&task, dense, &cfg, &device(), &out, false, &mut |_, _| {}).unwrap();
        let r = &pruned.report;
        eprintln!(
            "{} {structure} 2x: hard prune {:.4}, retrained {:.4} (start {:.4})",
            r.method, r.accuracy_hard_prune.test, r.test_accuracy, r.accuracy_start.test
        );
        // Every layer keeps round(groups / 2) of its groups (whole tiles here: 2x5 divides every
        // hidden matrix, but conv1's 15 tiles cannot halve exactly).
        assert_eq!(
            r.compression_pruned_layers,
            exact_rate(dense, &hidden, structure, 2.0),
            "{method:?}"
        );
        assert_eq!(r.layers.len(), 4);
        assert_eq!(r.accuracy_per_epoch.len(), 1);
        assert_in_structure_learning_and_on_cpu(&task, &pruned, method);
    }
}

/// Largest difference between burn's logits of the pruned LeNet-5 and the CPU backend's under
/// the pruned structure, on three test images.
fn cpu_against_burn(task: &ImageClassification, pruned: &canao_train::Pruned) -> f32 {
    let arch = LeNetArch {
        batch: 3,
        ..task.arch.clone()
    };
    let mut g = arch.build().unwrap();
    pruned.constraints.apply_to(&mut g).unwrap();
    let items = &task.data.split.test[..3];
    let model = LeNet::load(&arch, &pruned.weights, &device()).unwrap();
    let want = values(&model.forward(task.images(items, &device())));
    let pixels: Vec<f32> = items.iter().flat_map(|&i| task.data.image(i).to_vec()).collect();
    let inputs = [(
        "image".to_string(),
        canao_tensor::Tensor::new(vec![3, 1, 28, 28], pixels).unwrap(),
    )]
    .into();
    let got = run_ir(&canao_cpu::CpuRuntime, &g, &pruned.weights, &inputs);
    max_diff(&want, got[0].data())
}

/// The retrained weights lie in their structure (projecting them changes nothing), the CPU
/// backend runs them under it (its sparse or circulant kernels) as burn does, and they learned.
fn assert_in_structure_learning_and_on_cpu(
    task: &ImageClassification,
    pruned: &canao_train::Pruned,
    method: PruneMethod,
) {
    let mut projected = pruned.weights.clone();
    pruned.constraints.project_weights(&mut projected).unwrap();
    assert_eq!(
        projected, pruned.weights,
        "{method:?}: retrained weights left their structure"
    );
    let d = cpu_against_burn(task, pruned);
    assert!(d < 1e-4, "{method:?}: CPU backend logits differ from burn's by {d}");
    let accuracy = pruned.report.test_accuracy;
    assert!(accuracy > 0.5, "{method:?}: {accuracy}");
}

#[test]
fn circulant_pruning_compresses_by_its_block_and_runs_on_the_cpu_backend() {
    let task = task();
    let dense = trained(&task);
    let fc = ["fc1.w", "fc2.w"];
    for method in [PruneMethod::Magnitude, PruneMethod::Admm { interval: 1 }] {
        let cfg = config(method, Structure::Circulant { block: 4 }, 4.0, &fc);
        let pruned = prune(
            &task,
            dense,
            &cfg,
            &device(),
            &out_dir(&format!("circ-{}", method.name())),
            false,
            &mut |_, _| {},
        )
        .unwrap();
        let r = &pruned.report;
        eprintln!(
            "{} circulant:4: hard prune {:.4}, retrained {:.4}",
            r.method, r.accuracy_hard_prune.test, r.test_accuracy
        );
        // 4 x 4 tiles divide fc1 [120, 400] and fc2 [84, 120]: one stored vector of 4 per 16.
        assert_eq!(r.compression_pruned_layers, 4.0, "{method:?}");
        assert!(r.layers.iter().all(|l| l.kept_groups == l.groups));
        assert_in_structure_learning_and_on_cpu(&task, &pruned, method);
    }
}

#[test]
fn a_killed_slr_run_resumes_to_the_same_end() {
    let task = task();
    let dense = trained(&task);
    let cfg = config(slr(), Structure::Irregular, 4.0, &[]);
    let whole = prune(&task, dense, &cfg, &device(), &out_dir("whole"), false, &mut |_, _| {}).unwrap();
    let dir = out_dir("killed");
    // Killed in the second epoch of the SLR phase (40 steps an epoch; the last checkpoint is step 60, mid-epoch, after the first update).
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        prune(&task, dense, &cfg, &device(), &dir, false, &mut |phase, p| {
            assert!(!(phase == "split" && p.step >= 70), "simulated crash");
        })
    }));
    assert!(crashed.is_err());
    let resumed = prune(&task, dense, &cfg, &device(), &dir, true, &mut |_, _| {}).unwrap();
    assert_eq!(resumed.weights, whole.weights, "final weights differ");
    assert_eq!(resumed.report, whole.report);
    let metrics = std::fs::read_to_string(dir.join("split/metrics.jsonl")).unwrap();
    let updates: Vec<&str> = metrics.lines().filter(|l| l.contains("\"kind\":\"epoch\"")).collect();
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().all(|l| l.contains("\"step_size\"")), "{updates:?}");
}

#[test]
fn unreachable_rates_name_the_layer() {
    let task = task();
    let w = init_lenet(&task.arch, 0).unwrap();
    // conv1 has 6 filters: 16x keeps none of them.
    let cfg = config(PruneMethod::Magnitude, Structure::Filter, 16.0, &["conv1.w"]);
    let err = prune(&task, &w, &cfg, &device(), &out_dir("bad"), false, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("conv1.w"), "{err}");
    let cfg = config(PruneMethod::Magnitude, Structure::Irregular, 2.0, &["conv1.b"]);
    let err = prune(&task, &w, &cfg, &device(), &out_dir("bias"), false, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("conv1.b"), "{err}");
    // A per-layer rate for a weight that is not pruned.
    let mut cfg = config(PruneMethod::Magnitude, Structure::Irregular, 2.0, &["conv1.w"]);
    cfg.layer_rates.insert("fc1.w".into(), 10.0);
    let err = prune(&task, &w, &cfg, &device(), &out_dir("rates"), false, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("fc1.w"), "{err}");
}

#[test]
fn per_layer_rates_replace_the_rate_of_their_layer() {
    let w = init_lenet(&LeNetArch::default(), 0).unwrap();
    let mut cfg = config(PruneMethod::Magnitude, Structure::Irregular, 8.0, &["conv1.w", "fc1.w"]);
    cfg.layer_rates.insert("conv1.w".into(), 2.0);
    let layers = canao_train::prune::layers(&cfg, &w).unwrap();
    // conv1 [6, 25]: 150 weights, 75 stay; fc1 [120, 400] at the run's 8x: 6,000 of 48,000.
    let keep: Vec<(&str, usize)> = layers.iter().map(|l| (l.param.as_str(), l.keep)).collect();
    assert_eq!(keep, [("conv1.w", 75), ("fc1.w", 6000)]);
}

/// The small BERT on digit tokens, its untrained weights and its encoder's linear weights.
fn small_text_task() -> (TextClassification, Weights, Vec<String>) {
    let arch = small_bert();
    let text = TextClassification {
        data: digit_tokens(&task().data),
        arch: arch.clone(),
        classes: 10,
        device: device(),
    };
    let w = small_bert_weights(&arch, 10, 2);
    let layers = canao_models::prunable(&w);
    assert_eq!(layers.len(), 12, "{layers:?}");
    (text, w, layers)
}

/// Prunes the small BERT from its untrained start: a fast learning rate, five epochs of retraining.
fn prune_small_bert(
    method: PruneMethod,
    structure: Structure,
    rate: f64,
) -> (canao_train::Pruned, TextClassification, Weights) {
    let (text, w, layers) = small_text_task();
    let names: Vec<&str> = layers.iter().map(String::as_str).collect();
    let fast = |epochs| TrainConfig {
        lr: 3e-3,
        ..phase(epochs)
    };
    let cfg = PruneConfig {
        rows: Rows::EachKept,
        split: fast(1),
        retrain: fast(5),
        ..config(method, structure, rate, &names)
    };
    let out = out_dir(&format!("bert-{}", method.name()));
    let pruned = prune(&text, &w, &cfg, &device(), &out, false, &mut |_, _| {}).unwrap();
    let r = &pruned.report;
    eprintln!(
        "small BERT {structure} {rate}x: hard prune {:.4}, retrained {:.4}",
        r.accuracy_hard_prune.test, r.test_accuracy
    );
    assert!(r.test_accuracy > 0.5, "{structure}: {}", r.test_accuracy);
    (pruned, text, w)
}

/// Largest difference between burn's logits of the pruned small BERT and the CPU backend's
/// under the pruned structure, on three test sequences.
fn bert_cpu_against_burn(text: &TextClassification, pruned: &canao_train::Pruned) -> f32 {
    let seq = 17;
    let mut g = text.arch.with_seq(seq).build_classifier(10).unwrap();
    pruned.constraints.apply_to(&mut g).unwrap();
    let model = BertClassifier::load(&text.arch, 10, &pruned.weights, &device()).unwrap();
    let batch = text.batch(&text.data.split.test[..3]);
    assert_eq!(batch.seq, seq);
    let logits = values(&model.forward(&batch, None).logits);
    (0..3)
        .map(|row| {
            let got = run_ir(&canao_cpu::CpuRuntime, &g, &pruned.weights, &row_inputs(&batch, row));
            max_diff(&logits[row * 10..(row + 1) * 10], got[2].data())
        })
        .fold(0.0, f32::max)
}

#[test]
fn a_bert_pruned_to_blocks_keeps_a_tile_in_every_row_and_runs_on_the_cpu_backend() {
    let method = PruneMethod::GroupLasso(GroupLassoParams {
        every: 1,
        ..GroupLassoParams::reweighted()
    });
    let structure = Structure::Block { rows: 4, cols: 4 };
    let (pruned, text, w) = prune_small_bert(method, structure, 6.0);
    let names: Vec<String> = canao_models::prunable(&w);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(
        pruned.report.compression_pruned_layers,
        exact_rate(&w, &names, structure, 6.0)
    );
    for (name, sparsity) in pruned.constraints.iter() {
        let Sparsity::Block { block, mask } = sparsity else {
            panic!("{name}: {sparsity}")
        };
        let shape = w.dense(name).unwrap().shape().to_vec();
        let grid_cols = shape[1] / block[1];
        for (row, tiles) in mask.0.chunks(grid_cols).enumerate() {
            assert!(tiles.iter().any(|&k| k), "{name}: row {row} of tiles was pruned whole");
        }
    }
    let d = bert_cpu_against_burn(&text, &pruned);
    assert!(d < 1e-4, "CPU backend logits differ from burn's by {d}");
}

#[test]
fn a_bert_made_block_circulant_runs_on_the_cpu_backend() {
    let (pruned, text, _) = prune_small_bert(PruneMethod::Magnitude, Structure::Circulant { block: 4 }, 4.0);
    // Every encoder matrix (widths 32 and 64) is a whole number of 4 x 4 tiles.
    assert_eq!(pruned.report.compression_pruned_layers, 4.0);
    let d = bert_cpu_against_burn(&text, &pruned);
    assert!(d < 1e-4, "CPU backend logits differ from burn's by {d}");
}
