//! `canao privacy mia`: membership inference against LeNet-5, dense and magnitude-pruned (then
//! retrained on the same members). A seeded pool of training images is split in halves: the
//! targets train on one (the members), the other is the non-members. Attacks: loss threshold,
//! confidence threshold, and offline LiRA with reference models each trained on a seeded half of
//! the pool. Every model trains into its own folder (cached and resumable); the report gives per
//! target and attack the AUC, the true-positive rate at 0.1 % and 1 % false positives and the
//! best balanced attack accuracy, beside the target's test accuracy.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use canao_compress::{Rows, Structure};
use canao_ir::Weights;
use canao_privacy::dp::{DpSgd, Spent};
use canao_privacy::mia::{Roc, confidence_score, lira_offline, loss_score, scaled_confidence};
use canao_train::data::{SplitPart, Task};
use canao_train::learner::Learner;
use canao_train::prune::{PruneConfig, PruneMethod, prune};
use canao_train::{Constraints, ImageClassification, TrainConfig, init_lenet, train};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::cmd::plot::{PALETTE, roc};
use crate::cmd::run_dir::{check_or_write_config, out_dir};
use crate::cmd::train::image_learner;
use crate::cmd::train_report::write_atomic;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// fashion-mnist or digits.
    #[arg(long, default_value = "fashion-mnist")]
    task: String,
    /// Images the attack is about: a seeded sample of the training part, half of them members.
    #[arg(long, default_value_t = 10_000)]
    pool: usize,
    /// Reference models for offline LiRA (each trained on a seeded half of the pool).
    #[arg(long, default_value_t = 8)]
    refs: usize,
    /// Training epochs of every model (no early stopping: the last epoch's model is attacked).
    #[arg(long, default_value_t = 15)]
    epochs: usize,
    /// Sparsities of the pruned targets (unstructured magnitude pruning of every weight
    /// matrix, then retraining on the members under the mask).
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.7,0.9")]
    sparsity: Vec<f64>,
    #[arg(long, default_value_t = 5)]
    retrain_epochs: usize,
    /// DP-SGD baseline target: noise multiplier (0 leaves the baseline out).
    #[arg(long, default_value_t = 1.0)]
    dp_noise: f64,
    /// DP-SGD per-example gradient norm bound.
    #[arg(long, default_value_t = 1.0)]
    dp_clip: f64,
    /// DP-SGD expected batch (Poisson sampling) and learning rate (SGD, momentum 0.9).
    #[arg(long, default_value_t = 256)]
    dp_batch: usize,
    #[arg(long, default_value_t = 0.05)]
    dp_lr: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run folder (default results/privacy-mia-<task>-pool<N>-seed<S>).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// FPRs at which the report gives the true-positive rate.
const LOW_FPR: [f64; 2] = [0.001, 0.01];

fn train_config(epochs: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        epochs,
        batch: 64,
        lr: 2e-3,
        warmup: 0.02,
        weight_decay: 1e-4,
        clip_norm: 1.0,
        dropout: 0.0,
        patience: epochs,
        checkpoint_every: None,
        seed,
    }
}

impl Args {
    /// The settings that do not depend on the data, checked before anything is loaded.
    fn check(&self) -> Result<()> {
        if self.refs < 2 {
            bail!(
                "--refs {} must be at least 2 (LiRA fits a Gaussian per example)",
                self.refs
            );
        }
        if let Some(s) = self.sparsity.iter().find(|s| !(**s > 0.0 && **s < 1.0)) {
            bail!("--sparsity {s} must be in (0, 1)");
        }
        if self.epochs == 0 || self.retrain_epochs == 0 {
            bail!("--epochs and --retrain-epochs must be at least 1");
        }
        if let Some(dp) = self.dp() {
            dp.validate()?;
        }
        Ok(())
    }

    /// The DP-SGD baseline's settings (same epochs as the other targets), unless left out.
    fn dp(&self) -> Option<DpSgd> {
        (self.dp_noise != 0.0).then_some(DpSgd {
            epochs: self.epochs,
            batch: self.dp_batch,
            lr: self.dp_lr,
            momentum: 0.9,
            clip: self.dp_clip,
            noise_multiplier: self.dp_noise,
            delta: 1e-5,
            seed: self.seed,
        })
    }

    fn check_pool(&self, train_items: usize) -> Result<()> {
        if self.pool < 4 || self.pool > train_items {
            bail!(
                "--pool {} must be in 4..={train_items} (the task's training images)",
                self.pool
            );
        }
        Ok(())
    }
}

/// A seeded half of `pool`, and per pool item whether it is in it.
fn half(pool: &[usize], seed: u64) -> (Vec<usize>, Vec<bool>) {
    let mut order: Vec<usize> = (0..pool.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut inside = vec![false; pool.len()];
    order[..pool.len() / 2].iter().for_each(|&i| inside[i] = true);
    let mut items: Vec<usize> = (0..pool.len()).filter(|&i| inside[i]).map(|i| pool[i]).collect();
    items.sort_unstable();
    (items, inside)
}

pub fn run(a: Args) -> Result<()> {
    a.check()?;
    let task: Task = a.task.parse()?;
    let device = Device::flex().autodiff();
    let (mut learner, source) = image_learner(task, None, device.clone())?;
    a.check_pool(learner.data.split.train.len())?;
    let dir = out_dir(
        a.out.as_deref(),
        &format!("privacy-mia-{}-pool{}-seed{}", task.name(), a.pool, a.seed),
    )?;
    let resolved = json!({
        "task": task.name(), "data": source, "pool": a.pool, "refs": a.refs, "epochs": a.epochs,
        "sparsity": a.sparsity, "retrain_epochs": a.retrain_epochs, "seed": a.seed, "dp_sgd": a.dp(),
        "train": train_config(a.epochs, a.seed),
    });
    check_or_write_config(&dir, &resolved, &["refs"])?;
    let mut pool = learner.data.split.train.clone();
    pool.shuffle(&mut ChaCha8Rng::seed_from_u64(a.seed ^ 0x9001));
    pool.truncate(a.pool);
    let (members, member) = half(&pool, a.seed);
    let dp = a.dp();
    let bar = ProgressBar::new((1 + a.sparsity.len() + usize::from(dp.is_some()) + a.refs) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} models, {elapsed} (eta {eta}) {msg}")
            .expect("a valid template"),
    );

    learner.data.split.train = members;
    let mut targets = vec![(
        "dense".to_string(),
        fit(&learner, &dir.join("target-dense"), &a, a.seed, &bar)?,
    )];
    for &s in &a.sparsity {
        let name = format!("pruned-{:.0}", 100.0 * s);
        let w = pruned(
            &learner,
            &targets[0].1,
            s,
            &dir.join(format!("target-{name}")),
            &a,
            &device,
            &bar,
        )?;
        targets.push((name, w));
    }
    let mut spent = None;
    if let Some(dp) = &dp {
        let (w, s) = private(&learner, dp, &dir.join("target-dp-sgd"), &bar)?;
        targets.push(("dp-sgd".into(), w));
        spent = Some(s);
    }
    let mut reference = Vec::new();
    let mut trained_on = Vec::new();
    for r in 0..a.refs {
        let seed = a.seed.wrapping_add(1000 + r as u64);
        let (items, inside) = half(&pool, seed);
        learner.data.split.train = items;
        let w = fit(&learner, &dir.join("refs").join(format!("ref-{r}")), &a, seed, &bar)?;
        reference.push(
            outputs(&learner, &w, &pool)?
                .iter()
                .map(|(z, y)| scaled_confidence(z, *y))
                .collect(),
        );
        trained_on.push(inside);
    }
    bar.finish_and_clear();
    let rows = attack_all(&learner, &targets, &pool, &member, &reference, &trained_on, &dir)?;
    write_report(&dir, &rows, &resolved, pool.len(), spent.as_ref())?;
    Ok(())
}

/// Trains LeNet-5 on the learner's current training items into `out` (resuming there).
fn fit(learner: &ImageClassification, out: &Path, a: &Args, seed: u64, bar: &ProgressBar) -> Result<Weights> {
    bar.set_message(format!("training {}", out.display()));
    let start = learner.load(&init_lenet(&learner.arch, seed)?)?;
    let outcome = train(
        learner,
        start,
        &train_config(a.epochs, seed),
        &Constraints::new(),
        out,
        true,
        &mut |_| {},
    )?;
    bar.inc(1);
    Ok(canao_train::params::export(&outcome.last))
}

fn pruned(
    learner: &ImageClassification,
    dense: &Weights,
    sparsity: f64,
    out: &Path,
    a: &Args,
    device: &Device,
    bar: &ProgressBar,
) -> Result<Weights> {
    bar.set_message(format!("pruning to {sparsity} into {}", out.display()));
    let phase = TrainConfig {
        warmup: 0.0,
        ..train_config(a.retrain_epochs, a.seed)
    };
    let config = PruneConfig {
        method: PruneMethod::Magnitude,
        structure: Structure::Irregular,
        rate: 1.0 / (1.0 - sparsity),
        rho: 0.0,
        split: phase.clone(),
        retrain: phase,
        layers: Vec::new(),
        rows: Rows::Any,
        layer_rates: Default::default(),
    };
    let result = prune(learner, dense, &config, device, out, true, &mut |_, _| {})?;
    bar.inc(1);
    Ok(result.weights)
}

/// The DP-SGD target, trained once on the members and cached as `weights.safetensors` (its
/// privacy spent follows from the settings, so only the weights are kept).
fn private(learner: &ImageClassification, dp: &DpSgd, out: &Path, bar: &ProgressBar) -> Result<(Weights, Spent)> {
    let items = &learner.data.split.train;
    let file = out.join("weights.safetensors");
    if file.is_file() {
        bar.inc(1);
        return Ok((canao_train::checkpoint::read_weights(&file)?, dp.spent(items.len())));
    }
    std::fs::create_dir_all(out)?;
    let start = init_lenet(&learner.arch, dp.seed)?;
    let (w, spent) = dp.train(learner, &start, items, &mut |s, n| {
        bar.set_message(format!("DP-SGD step {s}/{n}"));
    })?;
    canao_train::checkpoint::write_weights(&file, &w)?;
    bar.inc(1);
    Ok((w, spent))
}

/// Logits of `weights` on `items`, each with its label.
fn outputs(learner: &ImageClassification, weights: &Weights, items: &[usize]) -> Result<Vec<(Vec<f32>, usize)>> {
    let model = learner.load(weights)?.valid();
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(500) {
        let logits = model.forward(learner.images(chunk, &learner.device));
        let [n, c] = logits.dims();
        let flat: Vec<f32> = logits.into_data().iter::<f32>().collect();
        for (k, &item) in chunk.iter().enumerate().take(n) {
            out.push((flat[k * c..(k + 1) * c].to_vec(), learner.data.labels[item]));
        }
    }
    Ok(out)
}

/// A target's ROC points, by name.
type Curve = (String, Vec<(f64, f64)>);

/// Every attack on every target: one row each (also plotted as ROC curves per attack).
fn attack_all(
    learner: &ImageClassification,
    targets: &[(String, Weights)],
    pool: &[usize],
    member: &[bool],
    reference: &[Vec<f64>],
    trained_on: &[Vec<bool>],
    dir: &Path,
) -> Result<Vec<Value>> {
    let mut rows = Vec::new();
    let mut curves: Vec<(&str, Vec<Curve>)> = vec![("loss", vec![]), ("confidence", vec![]), ("lira", vec![])];
    for (name, weights) in targets {
        let out = outputs(learner, weights, pool)?;
        let test = learner.accuracy(&learner.load(weights)?.valid(), SplitPart::Test);
        let right = |want: bool| {
            let (n, ok) = out
                .iter()
                .zip(member)
                .filter(|(_, m)| **m == want)
                .fold((0, 0), |(n, ok), ((z, y), _)| {
                    let argmax = z
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map_or(0, |(k, _)| k);
                    (n + 1, ok + usize::from(argmax == *y))
                });
            ok as f64 / f64::from(n.max(1))
        };
        let target_conf: Vec<f64> = out.iter().map(|(z, y)| scaled_confidence(z, *y)).collect();
        let scores = [
            out.iter().map(|(z, y)| loss_score(z, *y)).collect::<Vec<_>>(),
            out.iter().map(|(z, _)| confidence_score(z)).collect(),
            lira_offline(&target_conf, reference, trained_on),
        ];
        for ((attack, plot), s) in curves.iter_mut().zip(&scores) {
            let r = Roc::new(s, member);
            rows.push(json!({
                "target": name, "attack": attack, "auc": r.auc,
                "tpr_at_0.1pct_fpr": r.tpr_at(LOW_FPR[0]), "tpr_at_1pct_fpr": r.tpr_at(LOW_FPR[1]),
                "attack_accuracy": r.best_balanced_accuracy(),
                "test_accuracy": test, "member_accuracy": right(true), "non_member_accuracy": right(false),
            }));
            plot.push((name.clone(), thinned(&r.points)));
        }
    }
    for (attack, plot) in &curves {
        let series: Vec<_> = plot
            .iter()
            .enumerate()
            .map(|(i, (n, p))| (n.as_str(), PALETTE[i % PALETTE.len()], p.as_slice()))
            .collect();
        roc(
            &dir.join(format!("roc-{attack}.svg")),
            &format!("Membership inference: {attack}"),
            &series,
        )?;
    }
    Ok(rows)
}

/// The ROC points a log-log plot can tell apart: a point where the false-positive rate has
/// grown by 1 % since the last one kept (or the true-positive rate by 1 %), and the last.
fn thinned(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut kept: Vec<(f64, f64)> = Vec::new();
    for (i, &(f, t)) in points.iter().enumerate() {
        let apart = kept.last().is_none_or(|&(f0, t0)| f > f0 * 1.01 || t > t0 * 1.01);
        if apart || i + 1 == points.len() {
            kept.push((f, t));
        }
    }
    kept
}

fn write_report(dir: &Path, rows: &[Value], resolved: &Value, pool: usize, spent: Option<&Spent>) -> Result<()> {
    let mut log = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut log, r)?;
        log.push(b'\n');
    }
    write_atomic(&dir.join("attacks.jsonl"), &log)?;
    println!(
        "{:<12} {:<11} {:>6} {:>10} {:>9} {:>8}",
        "target", "attack", "AUC", "TPR@0.1%", "TPR@1%", "test"
    );
    for r in rows {
        println!(
            "{:<12} {:<11} {:>6.3} {:>10.4} {:>9.4} {:>8.4}",
            r["target"].as_str().unwrap_or(""),
            r["attack"].as_str().unwrap_or(""),
            r["auc"].as_f64().unwrap_or(f64::NAN),
            r["tpr_at_0.1pct_fpr"].as_f64().unwrap_or(f64::NAN),
            r["tpr_at_1pct_fpr"].as_f64().unwrap_or(f64::NAN),
            r["test_accuracy"].as_f64().unwrap_or(f64::NAN),
        );
    }
    if let Some(s) = spent {
        println!(
            "dp-sgd spent epsilon {:.2} at delta {} ({} steps, sampling rate {:.4}, RDP order {})",
            s.epsilon, s.delta, s.steps, s.sampling_rate, s.order
        );
    }
    let report = json!({
        "pool": pool, "members": pool / 2,
        "dp_sgd_spent": spent,
        "attacks": rows,
        "cpu": canao_latency::cpu_id(),
        "config": resolved,
    });
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    crate::cmd::report::refresh(dir);
    println!("run folder: {}", dir.display());
    Ok(())
}
