//! Helpers shared by the wgpu test binaries.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::BTreeMap;
use std::io::Write;

use canao_interp::Interpreter;
use canao_ir::{Executable, Graph, Runtime, Schedule, Weights};
use canao_tensor::{Tensor, tolerance};
use canao_wgsl::WgpuRuntime;

/// The first wgpu adapter, or None after reporting `SKIP: no wgpu adapter` (the caller returns).
pub fn runtime(test: &str) -> Option<WgpuRuntime> {
    match WgpuRuntime::new() {
        Ok(rt) => {
            println!("{test}: on {}", rt.describe());
            Some(rt)
        }
        Err(e) => {
            skip(&format!("no wgpu adapter ({test}: {e})"));
            None
        }
    }
}

/// Reports a skipped check as `SKIP: ...` on the process's stderr. The test harness captures
/// `println!` and `eprintln!` of passing tests, so a skip printed that way would pass silently;
/// a direct write to stderr shows in the run's output.
pub fn skip(why: &str) {
    // Nothing useful is left to do if stderr itself is gone.
    let _ = writeln!(std::io::stderr(), "SKIP: {why}");
}

/// Runs both backends (the GPU twice: the second run reuses buffers) and returns the largest
/// absolute difference, failing beyond KERNEL_ABS relative to magnitude.
pub fn check(rt: &WgpuRuntime, g: &Graph, w: &Weights, inputs: &BTreeMap<String, Tensor>) -> f32 {
    let want = Interpreter
        .prepare(g, w, &Schedule::default())
        .unwrap()
        .run(inputs)
        .unwrap();
    let mut exe = rt.prepare(g, w, &Schedule::default()).unwrap();
    let mut worst = 0.0f32;
    for _ in 0..2 {
        let got = exe.run(inputs).unwrap();
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert_eq!(a.shape(), b.shape(), "output {i}");
            for (j, (x, y)) in a.data().iter().zip(b.data()).enumerate() {
                worst = worst.max((x - y).abs());
                assert!(
                    (x - y).abs() <= tolerance::KERNEL_ABS * (1.0 + y.abs()),
                    "{}: output {i}[{j}]: wgpu {x} vs interp {y}",
                    g.name()
                );
            }
        }
    }
    worst
}
