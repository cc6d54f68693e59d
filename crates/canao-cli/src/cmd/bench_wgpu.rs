//! `canao bench kernels --backend wgpu`: the CPU suite's weight kernels as WGSL on the first wgpu
//! adapter, each timed in turns with dense on its shape. Times are of the dispatches alone
//! (inputs uploaded once, nothing read back), waited for on the host. The adapter is named on
//! every line, and a CPU adapter (Mesa's lavapipe) is marked: its times are not GPU figures.

use anyhow::Result;

#[cfg(not(feature = "wgpu"))]
pub fn kernels(_quick: bool, _json: bool) -> Result<()> {
    anyhow::bail!(
        "this canao was built without the wgpu backend; rebuild with `cargo build -p canao-cli --features wgpu`"
    )
}

#[cfg(feature = "wgpu")]
pub fn kernels(quick: bool, json: bool) -> Result<()> {
    use std::time::Duration;

    use canao_cpu::bench::{Case, case_sparsity, median_times, suite};
    use canao_interp::testing::{random_inputs, random_weights};
    use canao_ir::builders::LinearArch;
    use canao_ir::{Activation, Executable, Runtime, Schedule};
    use canao_wgsl::{WgpuExe, WgpuRuntime};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use serde_json::json;

    let rt = WgpuRuntime::new()?;
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
        println!("adapter: {adapter}");
        if !gpu {
            println!("(a CPU adapter: these are not GPU figures)");
        }
        println!(
            "{:<10} {:>5} {:>5} {:>5} {:>8} {:>6} {:>9} {:>11} {:>8}",
            "kernel", "m", "k", "n", "density", "block", "ms", "GFLOP/s eq", "speedup"
        );
    }
    let cases = suite().into_iter().filter(|c| !quick || (c.k, c.n) == (384, 384));
    for (i, c) in cases.enumerate() {
        let mut p = prepare(&c, i as u64)?;
        let dense = Case {
            kernel: "dense",
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
        let dense_equiv = 2.0 * (c.m * c.k * c.n) as f64;
        let block = format!("{}x{}", c.block[0], c.block[1]);
        if json {
            println!(
                "{}",
                json!({
                    "backend": "wgpu", "adapter": adapter, "gpu": gpu,
                    "kernel": c.kernel, "m": c.m, "k": c.k, "n": c.n, "density": c.density,
                    "block": block, "ms": t, "gflops_dense_equiv": dense_equiv / t / 1e6,
                    "speedup_vs_dense": dense_t / t,
                })
            );
        } else {
            println!(
                "{:<10} {:>5} {:>5} {:>5} {:>8.3} {:>6} {:>9.4} {:>11.1} {:>8.2}",
                c.kernel,
                c.m,
                c.k,
                c.n,
                c.density,
                block,
                t,
                dense_equiv / t / 1e6,
                dense_t / t
            );
        }
    }
    Ok(())
}
