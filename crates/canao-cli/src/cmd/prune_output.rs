//! What a `canao prune` run leaves besides its checkpoints: the pruned model as a run folder
//! (`model.ron`, `constraints.ron`, `weights.safetensors` with zeros stored as zeros),
//! `report.json` with the CPU latency of the pruned and the dense model timed in the same
//! process, and `retrain.svg`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use canao_cpu::CpuRuntime;
use canao_ir::{Executable, Runtime, Schedule, Weights};
use canao_train::{ModelSpec, Pruned};
use plotters::style::colors::{BLUE, RED};
use rand::SeedableRng;
use serde::Serialize;
use serde_json::json;

use crate::cmd::plot;
use crate::cmd::train_report::write_atomic;

/// Writes the outputs of a finished run; `seq` is the token count BERT latency is timed at.
pub fn write(
    dir: &Path,
    settings: &impl Serialize,
    spec: &ModelSpec,
    seq: usize,
    pruned: &Pruned,
    dense: &Weights,
) -> Result<()> {
    spec.save(&dir.join("model.ron"))?;
    pruned.constraints.save(&dir.join("constraints.ron"))?;
    canao_train::checkpoint::write_weights(&dir.join("weights.safetensors"), &pruned.weights)?;
    let latency = latency(spec, seq, pruned, dense)?;
    let r = &pruned.report;
    let report = json!({"settings": settings, "pruning": r, "cpu_latency": latency});
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    let model = match spec {
        ModelSpec::LeNet { .. } => "LeNet-5",
        ModelSpec::BertClassifier { .. } => "MiniLM",
    };
    let retrain: Vec<(f64, f64)> = std::iter::once((0.0, r.accuracy_hard_prune.validation))
        .chain(
            r.accuracy_per_epoch
                .iter()
                .enumerate()
                .map(|(e, &a)| (e as f64 + 1.0, a)),
        )
        .collect();
    let before = vec![(0.0, r.accuracy_before_prune.validation); 1];
    plot::xy(
        &dir.join("retrain.svg"),
        &format!(
            "{model} {} {} at {:.2}x: test accuracy {:.4}",
            r.method, r.structure, r.compression_pruned_layers, r.test_accuracy
        ),
        "retraining epoch (0: right after the hard prune)",
        "validation accuracy",
        &[("before the hard prune", RED, &before)],
        &[("after the hard prune", BLUE, &retrain)],
        None,
    )?;
    crate::cmd::report::refresh(dir);
    println!(
        "{}: {model} {} {} {:.2}x: accuracy {:.4} (validation) after the hard prune, test {:.4} after {} retraining epochs (dense start: test {:.4})",
        dir.display(),
        r.method,
        r.structure,
        r.compression_pruned_layers,
        r.accuracy_hard_prune.validation,
        r.test_accuracy,
        r.accuracy_per_epoch.len(),
        r.accuracy_start.test,
    );
    Ok(())
}

/// Median CPU latency (1 thread, one image or one sequence of `seq` tokens) of the pruned model
/// under its structure and of the dense model it started from, timed in turns in this process.
fn latency(spec: &ModelSpec, seq: usize, pruned: &Pruned, dense: &Weights) -> Result<serde_json::Value> {
    let schedule = Schedule { threads: 1 };
    let dense_graph = spec.graph(seq)?;
    let mut sparse_graph = dense_graph.clone();
    pruned.constraints.apply_to(&mut sparse_graph)?;
    let mut dense_exe = CpuRuntime.prepare(&dense_graph, dense, &schedule)?;
    let mut sparse_exe = CpuRuntime.prepare(&sparse_graph, &pruned.weights, &schedule)?;
    // Latency does not depend on the values: seeded random ids, masks or pixels.
    let vocab = match spec {
        ModelSpec::BertClassifier { arch, .. } => arch.vocab,
        ModelSpec::LeNet { .. } => 1,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let inputs: BTreeMap<_, _> = canao_interp::random::random_inputs(&dense_graph, &mut rng, vocab);
    let (mut d_err, mut s_err) = (None, None);
    let times = canao_cpu::bench::median_times(
        &mut [
            &mut || d_err = dense_exe.run(&inputs).err().or(d_err.take()),
            &mut || s_err = sparse_exe.run(&inputs).err().or(s_err.take()),
        ],
        50,
        Duration::from_millis(500),
    );
    if let Some(e) = d_err.or(s_err) {
        return Err(e.into());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(json!({
        "threads": 1, "batch": 1, "seq": matches!(spec, ModelSpec::BertClassifier { .. }).then_some(seq),
        "dense_ms": ms(times[0]), "pruned_ms": ms(times[1]),
        "speedup": times[0].as_secs_f64() / times[1].as_secs_f64().max(1e-12),
    }))
}
