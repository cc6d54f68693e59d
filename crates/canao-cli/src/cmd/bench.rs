use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use canao_cpu::CpuRuntime;
use canao_cpu::bench::{Case, Format, Prepared, median_times, suite};
use canao_cpu::{Cx, Isa};
use canao_ir::{Executable, KernelClass, Runtime, Schedule};
use canao_models::MiniLm;
use canao_tensor::Tensor;
use serde_json::json;

use crate::cmd::backend::{Backend, ModelArgs, parse_threads};
use crate::cmd::plot;
use crate::cmd::train_report::write_atomic;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Every weight kernel at BERT shapes (128 tokens), against dense in the same run.
    Kernels {
        /// cpu, or wgpu (canao's WGSL kernels, with device times from timestamp queries where the
        /// adapter has them).
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
        #[arg(long, default_value_t = 1, value_parser = parse_threads)]
        threads: usize,
        /// Only the first matrix shape.
        #[arg(long)]
        quick: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Median latency of a whole model on the CPU backend, or on wgpu.
    Model {
        #[command(flatten)]
        model: ModelArgs,
        /// cpu, or wgpu (end-to-end forward time with upload and read-back, plus device time
        /// from timestamp queries where the adapter has them).
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
        #[arg(long, default_value_t = 128)]
        seq: usize,
        /// CPU threads (the cpu backend only).
        #[arg(long, default_value_t = 1, value_parser = parse_threads)]
        threads: usize,
        /// Timed runs after warm-up (at least 20).
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Also print the time per kernel (summed over one profiled run).
        #[arg(long)]
        profile: bool,
        /// Write report.json, the per-kernel bars (kernels.svg, with --profile) and the run's
        /// page into this folder (the cpu backend only).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// One MiniLM fine-tuning step (forward, backward, clip, AdamW), timed per phase; one JSON
    /// line.
    TrainStep {
        #[arg(long, default_value_t = 1, value_parser = parse_threads)]
        threads: usize,
        #[arg(long, default_value_t = 32)]
        batch: usize,
        #[arg(long, default_value_t = 64)]
        seq: usize,
        /// Untimed steps first.
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        #[arg(long, default_value_t = 10)]
        steps: usize,
    },
}

pub fn run(a: Args) -> Result<()> {
    match a.what {
        What::TrainStep {
            threads,
            batch,
            seq,
            warmup,
            steps,
        } => {
            if threads == 0 || batch == 0 || seq == 0 || steps == 0 {
                bail!("--threads, --batch, --seq and --steps must be at least 1");
            }
            crate::cmd::bench_train::train_step(threads, batch, seq, warmup, steps)
        }
        What::Kernels {
            backend: Backend::Wgpu,
            quick,
            json,
            ..
        } => crate::cmd::bench_wgpu::kernels(quick, json),
        What::Kernels {
            backend: Backend::Interp,
            ..
        } => bail!("the interpreter is the oracle, not a kernel to benchmark: use --backend cpu or wgpu"),
        What::Kernels {
            backend: Backend::Cpu,
            threads,
            quick,
            json,
        } => kernels(threads, quick, json),
        What::Model {
            backend: Backend::Interp,
            ..
        } => bail!("the interpreter is the oracle, not a backend to benchmark: use --backend cpu or wgpu"),
        What::Model {
            backend: Backend::Wgpu,
            out: Some(_),
            ..
        } => bail!("--out is for the cpu backend"),
        What::Model {
            backend: Backend::Wgpu,
            model,
            seq,
            runs,
            profile,
            json,
            ..
        } => crate::cmd::bench_wgpu::model(&model, seq, runs.max(20), profile, json),
        What::Model {
            backend: Backend::Cpu,
            model,
            seq,
            threads,
            runs,
            profile,
            out,
            json,
        } => model_latency(&model, (seq, threads, runs.max(20)), profile, out.as_deref(), json),
    }
}

fn kernels(threads: usize, quick: bool, json: bool) -> Result<()> {
    let cx = Cx::new(threads, Isa::active()?)?;
    if !json {
        println!("instruction set: {} (CANAO_CPU_ISA chooses another)", cx.isa());
    }
    let cases: Vec<Case> = suite()
        .into_iter()
        .filter(|c| !quick || (c.k, c.n) == (384, 384))
        .collect();
    let mut dense: BTreeMap<(usize, usize), Prepared> = BTreeMap::new();
    if !json {
        println!(
            "{:<10} {:>5} {:>5} {:>5} {:>8} {:>6} {:>9} {:>11} {:>11} {:>8}",
            "kernel", "m", "k", "n", "density", "block", "ms", "GFLOP/s eq", "GFLOP/s act", "speedup"
        );
    }
    for (i, c) in cases.iter().enumerate() {
        let mut p = Prepared::new(c, i as u64);
        // Each case is timed in turns with the dense kernel on its shape, so the speedup compares
        // two medians taken over the same stretch of time.
        let base = dense.entry((c.k, c.n)).or_insert_with(|| {
            Prepared::new(
                &Case {
                    kernel: Format::Dense,
                    density: 1.0,
                    block: [1, 1],
                    ..c.clone()
                },
                i as u64,
            )
        });
        let min = Duration::from_millis(200);
        let times = median_times(&mut [&mut || p.run(cx), &mut || base.run(cx)], 10, min);
        let (t, dense_t) = (times[0].as_secs_f64() * 1e3, times[1].as_secs_f64() * 1e3);
        let speedup = dense_t / t;
        let dense_equiv = 2.0 * (c.m * c.k * c.n) as f64;
        let actual = p.actual_flops(c) as f64;
        let density = p.sparsity.density(&[c.n, c.k]);
        let block = format!("{}x{}", c.block[0], c.block[1]);
        if json {
            println!(
                "{}",
                json!({
                    "kernel": c.kernel.name(), "m": c.m, "k": c.k, "n": c.n,
                    "density": if c.kernel == Format::Circulant { c.density } else { density },
                    "block": block, "threads": threads, "isa": cx.isa().name(), "ms": t,
                    "gflops_dense_equiv": dense_equiv / t / 1e6, "gflops_actual": actual / t / 1e6,
                    "speedup_vs_dense": speedup, "packed_bytes": p.weight.packed_bytes(),
                })
            );
        } else {
            println!(
                "{:<10} {:>5} {:>5} {:>5} {:>8.3} {:>6} {:>9.4} {:>11.1} {:>11.1} {:>8.2}",
                c.kernel,
                c.m,
                c.k,
                c.n,
                if c.kernel == Format::Circulant {
                    c.density
                } else {
                    density
                },
                block,
                t,
                dense_equiv / t / 1e6,
                actual / t / 1e6,
                speedup
            );
        }
    }
    Ok(())
}

fn model_latency(
    args: &ModelArgs,
    (seq, threads, runs): (usize, usize, usize),
    profile: bool,
    out_dir: Option<&Path>,
    json: bool,
) -> Result<()> {
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let model = args.load()?;
    let graph = model.graph(seq)?;
    let mut exe = CpuRuntime.prepare(&graph, model.weights(), &Schedule { threads })?;
    let inputs = synthetic_inputs(&model, seq)?;
    for _ in 0..5 {
        exe.run(&inputs)?;
    }
    let mut ms: Vec<f64> = exe.time(&inputs, runs)?.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    let packed: usize = exe.packed_bytes().values().sum();
    let mut by_kind: BTreeMap<KernelClass, (usize, f64)> = BTreeMap::new();
    if profile {
        for (class, d) in exe.profile(&inputs)? {
            let e = by_kind.entry(class).or_default();
            e.0 += 1;
            e.1 += d.as_secs_f64() * 1e3;
        }
        eprintln!("{:<18} {:>6} {:>10}", "kernel", "steps", "ms");
        for (k, (n, t)) in &by_kind {
            eprintln!("{:<18} {n:>6} {t:>10.3}", k.to_string());
        }
    }
    let mut out = json!({
        "model": args.model, "backend": "cpu", "isa": exe.isa().name(), "seq": seq, "threads": threads,
        "sparsity": args.sparsity.unwrap_or(0.0), "block": args.block_label(),
        "median_ms": q(0.5), "p10_ms": q(0.1), "p90_ms": q(0.9), "runs": runs,
        "packed_weight_bytes": packed, "gflop": graph.cost().total.flops as f64 / 1e9,
    });
    if let Some(dir) = out_dir {
        write_model_run(dir, &mut out, &by_kind)?;
    }
    if json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

/// The run folder of `bench model --out`: report.json (with the per-kernel times of a profiled
/// run), kernels.svg (the slowest kernel family first) and the page.
fn write_model_run(
    dir: &Path,
    report: &mut serde_json::Value,
    by_kind: &BTreeMap<KernelClass, (usize, f64)>,
) -> Result<()> {
    if !by_kind.is_empty() {
        report["kernels_ms"] = json!(
            by_kind
                .iter()
                .map(|(k, (_, ms))| (k.to_string(), *ms))
                .collect::<BTreeMap<_, _>>()
        );
        let mut bars: Vec<(String, f64)> = by_kind.iter().map(|(k, (_, ms))| (k.to_string(), *ms)).collect();
        bars.sort_by(|a, b| b.1.total_cmp(&a.1));
        let label = |k: &str| report[k].as_str().unwrap_or("dense").to_string();
        let title = format!(
            "time per kernel family, one profiled run ({} {})",
            label("model"),
            label("block")
        );
        plot::bars(&dir.join("kernels.svg"), &title, "ms", "ms", &bars)?;
    }
    write_atomic(&dir.join("report.json"), &serde_json::to_vec_pretty(report)?)?;
    crate::cmd::report::refresh(dir);
    Ok(())
}

/// A fixed, valid input of `seq` tokens: [CLS], word-piece ids, [SEP].
pub fn synthetic_inputs(model: &MiniLm, seq: usize) -> Result<BTreeMap<String, Tensor>> {
    let text = "the quick brown fox jumps over the lazy dog ".repeat(seq);
    let enc = model.tokenize(&[text], canao_models::LengthPolicy::Truncate)?.remove(0);
    let ids: Vec<u32> = enc
        .ids
        .iter()
        .take(seq - 1)
        .copied()
        .chain(std::iter::once(102))
        .collect();
    let enc = canao_models::Encoded {
        type_ids: vec![0; ids.len()],
        ids,
    };
    Ok(MiniLm::inputs(&enc)?)
}
