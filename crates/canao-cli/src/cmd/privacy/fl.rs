//! `canao privacy fl`: federated LeNet-5 with top-k sparsified, AES-GCM-sealed updates opened
//! only inside the (in-process) enclave, against dense FedAvg in the same rounds. Writes the
//! resolved config, the client key file, the partition, `rounds.jsonl`, `report.json`, accuracy
//! and upload plots, each arm's final model, and the run's page; resumes by round after a kill.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::tensor::Device;
use canao_privacy::{Arm, Enclave, Federation, FlConfig, Keys, LocalTraining, Partition, PrivacyError, RoundRecord};
use canao_train::data::Task;
use canao_train::{ImageClassification, init_lenet};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cmd::plot::{PALETTE, xy};
use crate::cmd::run_dir::{check_or_write_config, out_dir};
use crate::cmd::train::image_learner;
use crate::cmd::train_report::write_atomic;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PartitionKind {
    Iid,
    Dirichlet,
    Labels,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// Rounds; rerunning a finished run with more rounds extends it.
    #[arg(long, default_value_t = 30)]
    rounds: u32,
    /// How the training images are dealt to clients: iid, dirichlet (label skew of --alpha) or
    /// labels (--labels classes per client).
    #[arg(long, value_enum, default_value = "dirichlet")]
    partition: PartitionKind,
    #[arg(long, default_value_t = 0.5)]
    alpha: f64,
    #[arg(long, default_value_t = 2)]
    labels: usize,
    /// Share of each tensor's entries a client sends (top-k, layer-wise, with error feedback);
    /// in (0, 1], 1 being dense FedAvg alone.
    #[arg(long, default_value_t = 0.03)]
    density: f64,
    /// Share of clients sampled each round.
    #[arg(long, default_value_t = 1.0)]
    sample: f64,
    #[arg(long, default_value_t = 2)]
    local_epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// fashion-mnist or digits.
    #[arg(long, default_value = "fashion-mnist")]
    task: String,
    /// Train on the first N training images only (quick runs).
    #[arg(long)]
    train_limit: Option<usize>,
    /// Skip the dense FedAvg baseline.
    #[arg(long)]
    no_baseline: bool,
    /// Each round, a network adversary also sends a tampered, a replayed, an old-round and a
    /// misrouted update; each must be refused and counted.
    #[arg(long)]
    adversary: bool,
    /// Client keys: `clients` x 32 bytes (default: fresh keys in OUT/keys.bin).
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run folder (default results/privacy-fl-<task>-<partition>-k<density>-seed<S>).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl Args {
    fn config(&self) -> Result<FlConfig> {
        let partition = match self.partition {
            PartitionKind::Iid => Partition::Iid,
            PartitionKind::Dirichlet => Partition::Dirichlet { alpha: self.alpha },
            PartitionKind::Labels => Partition::Labels { labels: self.labels },
        };
        let config = FlConfig {
            clients: self.clients,
            rounds: self.rounds,
            sample: self.sample,
            partition,
            local: LocalTraining {
                epochs: self.local_epochs,
                batch: self.batch,
                lr: self.lr,
                momentum: self.momentum,
            },
            density: canao_privacy::Density::new(self.density)?,
            baseline: !self.no_baseline,
            adversary: self.adversary,
            seed: self.seed,
        };
        config.validate()?;
        Ok(config)
    }
}

pub fn run(a: Args) -> Result<()> {
    let config = a.config()?;
    let task: Task = a.task.parse()?;
    let (learner, source) = image_learner(task, a.train_limit, Device::flex().autodiff())?;
    let default = format!(
        "privacy-fl-{}-{:?}-k{}-seed{}",
        task.name(),
        a.partition,
        a.density,
        a.seed
    )
    .to_lowercase();
    let dir = out_dir(a.out.as_deref(), &default)?;
    // `rounds` sits at the top only: a rerun may change it to extend the run.
    let mut fl = serde_json::to_value(&config)?;
    fl.as_object_mut().map(|o| o.remove("rounds"));
    let resolved = json!({
        "task": task.name(), "data": source, "train_limit": a.train_limit,
        "rounds": config.rounds, "fl": fl,
    });
    check_or_write_config(&dir, &resolved, &["rounds"])?;
    let keys = client_keys(&dir, a.keys.as_deref(), config.clients)?;
    let d = &learner.data;
    let parts = config
        .partition
        .deal(&d.split.train, &d.labels, task.classes(), config.clients, config.seed)?;
    write_partition(&dir, &parts, &learner)?;
    let start = init_lenet(&learner.arch, config.seed)?;
    let fed = Federation::new(&config, &learner, &parts, &keys, &start)?;
    let bar = progress(&config);
    let (records, arms) = fed.run(
        &start,
        &dir,
        true,
        &mut |arm, round, _| {
            bar.inc(1);
            bar.set_message(format!("round {round} {}", arm.name()));
        },
        &mut |records| {
            bar.set_position(records.len() as u64 / config.arms().len() as u64 * per_round(&config));
            let arms = config.arms().len();
            for r in &records[records.len().saturating_sub(arms)..] {
                // A hidden bar (no terminal) prints nothing: the log still gets a line a round.
                if bar.is_hidden() {
                    eprintln!("{}", line(r));
                } else {
                    bar.println(line(r));
                }
            }
            write_outputs(&dir, records, &resolved).map_err(|e| PrivacyError::Hook(e.into()))
        },
    )?;
    bar.finish_and_clear();
    for arm in &arms {
        let file = dir.join(format!("model-{}.safetensors", arm.arm.name()));
        canao_train::checkpoint::write_weights(&file, arm.enclave.model())?;
    }
    write_outputs(&dir, &records, &resolved)?;
    print_summary(&dir, &records);
    Ok(())
}

/// Client trainings per round over every arm.
fn per_round(config: &FlConfig) -> u64 {
    (config.sampled(0).len() * config.arms().len()) as u64
}

fn progress(config: &FlConfig) -> ProgressBar {
    let bar = ProgressBar::new(u64::from(config.rounds) * per_round(config)).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} client rounds, {elapsed} (eta {eta}) {msg}")
            .expect("a valid template"),
    );
    if bar.is_hidden() {
        eprintln!("training {} clients for {} rounds", config.clients, config.rounds);
    }
    bar
}

fn line(r: &RoundRecord) -> String {
    let rejected: u32 = r.rejected.values().sum();
    format!(
        "round {:>3} {:<6} test {:.4}  up {:>9} B  down {:>9} B  accepted {}/{}  refused {rejected}  {:.1} s",
        r.round,
        r.arm.name(),
        r.test_accuracy,
        r.bytes_up,
        r.bytes_down,
        r.accepted,
        r.clients,
        r.wall_s
    )
}

/// The key file of the run: `--keys` (copied into the run folder) or the run's own, made once.
fn client_keys(dir: &Path, given: Option<&Path>, clients: usize) -> Result<Keys> {
    let own = dir.join("keys.bin");
    match given {
        Some(file) => {
            let keys = Keys::read(file, clients)?;
            if own.is_file() && Keys::read(&own, clients).ok().as_ref() != Some(&keys) {
                bail!(
                    "{} holds other keys than {}; a run keeps its keys",
                    own.display(),
                    file.display()
                );
            }
            keys.write(&own)?;
            Ok(keys)
        }
        None if own.is_file() => Ok(Keys::read(&own, clients)?),
        None => {
            let keys = Keys::generate(clients);
            keys.write(&own)?;
            Ok(keys)
        }
    }
}

/// `partition.json`: each client's number of images per class.
fn write_partition(dir: &Path, parts: &[Vec<usize>], learner: &ImageClassification) -> Result<()> {
    let rows: Vec<_> = parts
        .iter()
        .enumerate()
        .map(|(c, items)| {
            let mut per_class = vec![0usize; 10];
            items.iter().for_each(|&i| per_class[learner.data.labels[i]] += 1);
            json!({"client": c, "images": items.len(), "per_class": per_class})
        })
        .collect();
    write_atomic(&dir.join("partition.json"), &serde_json::to_vec_pretty(&rows)?)
}

/// Totals of one arm's rounds.
fn totals(records: &[RoundRecord], arm: Arm) -> Option<serde_json::Value> {
    let mine: Vec<&RoundRecord> = records.iter().filter(|r| r.arm == arm).collect();
    let last = mine.last()?;
    let mut rejected: BTreeMap<String, u32> = BTreeMap::new();
    for r in &mine {
        for (k, n) in &r.rejected {
            *rejected
                .entry(serde_json::to_value(k).ok()?.as_str()?.to_string())
                .or_default() += n;
        }
    }
    Some(json!({
        "test_accuracy": last.test_accuracy,
        "best_test_accuracy": mine.iter().map(|r| r.test_accuracy).fold(0.0, f64::max),
        "bytes_up": mine.iter().map(|r| r.bytes_up).sum::<u64>(),
        "bytes_down": mine.iter().map(|r| r.bytes_down).sum::<u64>(),
        "rejected": rejected,
        "wall_s": mine.iter().map(|r| r.wall_s).sum::<f64>(),
    }))
}

fn write_outputs(dir: &Path, records: &[RoundRecord], resolved: &serde_json::Value) -> Result<()> {
    let mut log = Vec::new();
    for r in records {
        serde_json::to_writer(&mut log, r)?;
        log.push(b'\n');
    }
    write_atomic(&dir.join("rounds.jsonl"), &log)?;
    let (sparse, dense) = (totals(records, Arm::Sparse), totals(records, Arm::Dense));
    let get = |t: &Option<serde_json::Value>, k: &str| t.as_ref().and_then(|v| v.get(k).cloned());
    let main = sparse.as_ref().or(dense.as_ref());
    let saved = match (get(&sparse, "bytes_up"), get(&dense, "bytes_up")) {
        (Some(s), Some(d)) => Some(1.0 - s.as_f64().unwrap_or(0.0) / d.as_f64().unwrap_or(1.0)),
        _ => None,
    };
    let report = json!({
        "rounds_done": records.iter().map(|r| r.round + 1).max().unwrap_or(0),
        "test_accuracy": main.and_then(|m| m.get("test_accuracy").cloned()),
        "dense_test_accuracy": get(&dense, "test_accuracy"),
        "bytes_up": main.and_then(|m| m.get("bytes_up").cloned()),
        "dense_bytes_up": get(&dense, "bytes_up"),
        "upload_saved": saved,
        "sparse": sparse,
        "dense": dense,
        "sealing": "AES-256-GCM per client key; header (direction, client, round, model digest, nonce) authenticated",
        "sparsification": "layer-wise top-k with error feedback; indices u32, values f32",
        "cpu": canao_latency::cpu_id(),
        "config": resolved,
    });
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(&report)?)?;
    plots(dir, records)?;
    crate::cmd::report::refresh(dir);
    Ok(())
}

fn plots(dir: &Path, records: &[RoundRecord]) -> Result<()> {
    let series = |arm: Arm, f: &dyn Fn(&RoundRecord) -> f64, cumulative: bool| -> Vec<(f64, f64)> {
        let mut total = 0.0;
        records
            .iter()
            .filter(|r| r.arm == arm)
            .map(|r| {
                total = if cumulative { total + f(r) } else { f(r) };
                (f64::from(r.round + 1), total)
            })
            .collect()
    };
    let arms = [(Arm::Sparse, PALETTE[0]), (Arm::Dense, PALETTE[1])];
    let acc: Vec<Owned> = arms
        .iter()
        .map(|(a, c)| (a.name(), *c, series(*a, &|r| r.test_accuracy, false)))
        .collect();
    let up: Vec<Owned> = arms
        .iter()
        .map(|(a, c)| (a.name(), *c, series(*a, &|r| r.bytes_up as f64 / 1e6, true)))
        .collect();
    xy(
        &dir.join("accuracy.svg"),
        "Test accuracy per round",
        "round",
        "test accuracy",
        &[],
        &view(&acc),
        None,
    )?;
    xy(
        &dir.join("upload.svg"),
        "Sealed upload, cumulative",
        "round",
        "MB uploaded",
        &[],
        &view(&up),
        None,
    )
}

type Owned = (&'static str, plotters::style::RGBColor, Vec<(f64, f64)>);

/// The non-empty series, borrowed as the plot takes them.
fn view(v: &[Owned]) -> Vec<crate::cmd::plot::Series<'_>> {
    v.iter()
        .filter(|s| !s.2.is_empty())
        .map(|(n, c, p)| (*n, *c, p.as_slice()))
        .collect()
}

fn print_summary(dir: &Path, records: &[RoundRecord]) {
    for arm in [Arm::Sparse, Arm::Dense] {
        if let Some(t) = totals(records, arm) {
            println!(
                "{:<6} test accuracy {:.4}, uploaded {} bytes sealed, refused {}",
                arm.name(),
                t["test_accuracy"].as_f64().unwrap_or(f64::NAN),
                t["bytes_up"],
                t["rejected"]
            );
        }
    }
    println!("run folder: {}", dir.display());
}
