//! `canao bench kernels --backend wgpu` and `canao bench model --backend wgpu`.
//!
//! Kernels: the CPU suite's weight kernels as WGSL on the first wgpu adapter, each timed in turns
//! with dense on its shape. Host times are of the dispatches alone (inputs uploaded once, nothing
//! read back), waited for on the host; device times come from timestamp queries where the
//! adapter has them. Model: whole forward passes, end to end (upload, dispatches, read-back),
//! plus their device time. The adapter is named in every report, and a CPU adapter (Mesa's
//! lavapipe) is marked: its times are not GPU figures.

use anyhow::Result;

use crate::cmd::backend::ModelArgs;
#[cfg(not(feature = "wgpu"))]
use crate::cmd::backend::NO_WGPU;

#[cfg(not(feature = "wgpu"))]
pub fn kernels(_quick: bool, _json: bool) -> Result<()> {
    anyhow::bail!(NO_WGPU)
}

#[cfg(not(feature = "wgpu"))]
pub fn model(_args: &ModelArgs, _seq: usize, _runs: usize, _profile: bool, _json: bool) -> Result<()> {
    anyhow::bail!(NO_WGPU)
}

/// Device milliseconds of all steps, median over `reps` profiled runs; None without timestamp
/// queries.
#[cfg(feature = "wgpu")]
fn device_ms(exe: &mut canao_wgsl::WgpuExe, reps: usize) -> Result<Option<f64>> {
    let mut totals = Vec::with_capacity(reps);
    for _ in 0..reps {
        match exe.profile()? {
            Some(steps) => totals.push(steps.iter().map(|s| s.ms).sum::<f64>()),
            None => return Ok(None),
        }
    }
    totals.sort_by(f64::total_cmp);
    Ok(totals.get(totals.len() / 2).copied())
}

#[cfg(feature = "wgpu")]
fn open_runtime(json: bool) -> Result<canao_wgsl::WgpuRuntime> {
    let rt = canao_wgsl::WgpuRuntime::new()?;
    if !json {
        println!("adapter: {}", rt.describe());
        if rt.is_cpu() {
            println!("(a CPU adapter: these are not GPU figures)");
        }
        if !rt.has_timestamps() {
            println!("(no timestamp queries on this adapter: host times only)");
        }
    }
    Ok(rt)
}

#[cfg(feature = "wgpu")]
pub fn kernels(quick: bool, json: bool) -> Result<()> {
    use std::time::Duration;

    use canao_cpu::bench::{Case, Format, case_sparsity, median_times, suite};
    use canao_interp::random::{random_inputs, random_weights};
    use canao_ir::builders::LinearArch;
    use canao_ir::{Activation, Executable, Runtime, Schedule};
    use canao_wgsl::WgpuExe;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use serde_json::json;

    let rt = open_runtime(json)?;
    let adapter = rt.describe();
    let gpu = !rt.is_cpu();
    let prepare = |c: &Case, seed: u64| -> Result<WgpuExe> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut g = LinearArch {
            tokens: c.m,
            input: c.k,
            output: c.n,
            bias: false,
            act: Activation::Identity,
        }
        .build()?;
        g.set_sparsity("fc.w", case_sparsity(c, &mut rng))?;
        let w = random_weights(&g, &mut rng);
        let mut exe = rt.prepare(&g, &w, &Schedule::default())?;
        exe.run(&random_inputs(&g, &mut rng, 0))?;
        Ok(exe)
    };
    if !json {
        println!(
            "{:<10} {:>5} {:>5} {:>5} {:>8} {:>6} {:>9} {:>11} {:>8} {:>9} {:>8}",
            "kernel", "m", "k", "n", "density", "block", "ms", "GFLOP/s eq", "speedup", "device ms", "speedup"
        );
    }
    let cases = suite().into_iter().filter(|c| !quick || (c.k, c.n) == (384, 384));
    for (i, c) in cases.enumerate() {
        let mut p = prepare(&c, i as u64)?;
        let dense = Case {
            kernel: Format::Dense,
            density: 1.0,
            block: [1, 1],
            ..c.clone()
        };
        let mut base = prepare(&dense, i as u64)?;
        // The timed closures cannot return errors: keep the first and report it after.
        let failure = std::cell::Cell::new(None);
        let times = median_times(
            &mut [
                &mut || {
                    if let Err(e) = p.run_dispatches() {
                        failure.set(Some(e));
                    }
                },
                &mut || {
                    if let Err(e) = base.run_dispatches() {
                        failure.set(Some(e));
                    }
                },
            ],
            10,
            Duration::from_millis(200),
        );
        if let Some(e) = failure.into_inner() {
            return Err(e.into());
        }
        let (t, dense_t) = (times[0].as_secs_f64() * 1e3, times[1].as_secs_f64() * 1e3);
        let (dev, dense_dev) = (device_ms(&mut p, 10)?, device_ms(&mut base, 10)?);
        let dev_speedup = dev.zip(dense_dev).map(|(d, b)| b / d);
        let dense_equiv = 2.0 * (c.m * c.k * c.n) as f64;
        let block = format!("{}x{}", c.block[0], c.block[1]);
        if json {
            println!(
                "{}",
                json!({
                    "backend": "wgpu", "adapter": adapter, "gpu": gpu,
                    "kernel": c.kernel.name(), "m": c.m, "k": c.k, "n": c.n, "density": c.density,
                    "block": block, "ms": t, "gflops_dense_equiv": dense_equiv / t / 1e6,
                    "speedup_vs_dense": dense_t / t,
                    "device_ms": dev, "device_speedup_vs_dense": dev_speedup,
                })
            );
        } else {
            let opt = |v: Option<f64>, prec: usize| v.map_or("-".to_string(), |v| format!("{v:.prec$}"));
            println!(
                "{:<10} {:>5} {:>5} {:>5} {:>8.3} {:>6} {:>9.4} {:>11.1} {:>8.2} {:>9} {:>8}",
                c.kernel,
                c.m,
                c.k,
                c.n,
                c.density,
                block,
                t,
                dense_equiv / t / 1e6,
                dense_t / t,
                opt(dev, 4),
                opt(dev_speedup, 2)
            );
        }
    }
    Ok(())
}

#[cfg(feature = "wgpu")]
pub fn model(args: &ModelArgs, seq: usize, runs: usize, profile: bool, json: bool) -> Result<()> {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use canao_ir::{Executable, Runtime, Schedule};
    use serde_json::json;

    let rt = open_runtime(json)?;
    let model = args.load()?;
    let graph = model.graph(seq)?;
    let mut exe = rt.prepare(&graph, model.weights(), &Schedule::default())?;
    let inputs = crate::cmd::bench::synthetic_inputs(&model, seq)?;
    for _ in 0..3 {
        exe.run(&inputs)?;
    }
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        exe.run(&inputs)?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| ms[((ms.len() - 1) as f64 * p).round() as usize];
    let device = device_ms(&mut exe, runs)?;
    if profile && let Some(steps) = exe.profile()? {
        let mut by_kernel: BTreeMap<String, (usize, f64)> = BTreeMap::new();
        for s in steps {
            let e = by_kernel.entry(s.kernel).or_default();
            e.0 += 1;
            e.1 += s.ms;
        }
        eprintln!("{:<36} {:>6} {:>10}", "kernel", "steps", "device ms");
        for (k, (n, t)) in &by_kernel {
            eprintln!("{k:<36} {n:>6} {t:>10.3}");
        }
    }
    let out = json!({
        "model": args.model, "backend": "wgpu", "adapter": rt.describe(), "gpu": !rt.is_cpu(),
        "seq": seq, "sparsity": args.sparsity.unwrap_or(0.0), "block": args.block_label(),
        "median_ms": q(0.5), "p10_ms": q(0.1), "p90_ms": q(0.9), "runs": runs,
        "device_ms": device, "gflop": graph.cost().total.flops as f64 / 1e9,
    });
    if json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
