//! Timing prepared workloads on the CPU backend: per-step times from profiled runs and the
//! end-to-end time of plain runs, in rounds and passes, each reduced by the chosen statistic.

use std::collections::BTreeMap;
use std::time::Instant;

use canao_cpu::{CpuExe, CpuRuntime};
use canao_ir::{Executable, ReportsWork, Runtime, Schedule, StepWork};
use canao_latency::Result;
use canao_latency::measured::{Measured, Statistic};
use canao_tensor::Tensor;

use crate::workload::{Spec, Workload, backend};

/// How workloads are timed: `rounds` runs of each, back to back with the rest of its group, in
/// each of `passes` passes over the whole set; each time is `statistic` over a pass's rounds and
/// then over the passes. Passes spread a workload's rounds over the whole measurement, so a slow
/// spell of a shared host that outlasts one group (seconds) still misses most of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub rounds: usize,
    pub passes: usize,
    pub statistic: Statistic,
}

impl Workload {
    /// Lowers onto the CPU backend (the random weights are dropped once packed).
    pub fn prepare(self, threads: usize) -> Result<Prepared> {
        let exe = CpuRuntime
            .prepare(&self.graph, &self.weights, &Schedule { threads })
            .map_err(backend)?;
        Ok(Prepared {
            name: self.name,
            work: exe.work(),
            exe,
            inputs: self.inputs,
            steps: Vec::new(),
            totals: Vec::new(),
        })
    }
}

/// A workload ready to run, with the timings taken so far.
#[derive(Debug)]
pub struct Prepared {
    pub name: String,
    pub work: Vec<StepWork>,
    exe: CpuExe,
    inputs: BTreeMap<String, Tensor>,
    /// Per round: each step's time (ns); and each round's end-to-end time.
    steps: Vec<Vec<f64>>,
    totals: Vec<f64>,
}

impl Prepared {
    /// One round: an untimed run (to warm the caches again after other workloads ran), a
    /// profiled run (per-step times) and a timed plain run (end to end).
    fn round(&mut self) -> Result<()> {
        self.exe.run(&self.inputs).map_err(backend)?;
        let steps = self.exe.profile(&self.inputs).map_err(backend)?;
        self.steps
            .push(steps.iter().map(|(_, d)| d.as_secs_f64() * 1e9).collect());
        let start = Instant::now();
        self.exe.run(&self.inputs).map_err(backend)?;
        self.totals.push(start.elapsed().as_secs_f64() * 1e9);
        Ok(())
    }

    /// `stat` over the rounds.
    pub fn measured(&self, stat: Statistic) -> Measured {
        Measured {
            name: self.name.clone(),
            work: self.work.clone(),
            steps_ns: (0..self.work.len())
                .map(|i| stat.of(self.steps.iter().map(|r| r[i]).collect()))
                .collect(),
            total_ns: stat.of(self.totals.clone()),
            drift: 1.0,
        }
    }
}

/// Builds, prepares and times `specs` a group of `group` at a time (each group in rounds, see
/// [`measure_all`]), in `timing.passes` passes over the set; a group's memory is released
/// before the next is built, so the set can be larger than memory and the machine's memory
/// state does not grow with it.
pub fn measure_specs(
    specs: &[Spec],
    threads: usize,
    timing: Timing,
    group: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Measured>> {
    let passes = timing.passes.max(1);
    let mut per_pass: Vec<Vec<Measured>> = Vec::with_capacity(passes);
    for pass in 0..passes {
        let mut out = Vec::with_capacity(specs.len());
        for (g, chunk) in specs.chunks(group.max(1)).enumerate() {
            let first = g * group.max(1);
            progress(&format!(
                "pass {}/{passes}, workloads {}-{} of {}: preparing",
                pass + 1,
                first + 1,
                first + chunk.len(),
                specs.len()
            ));
            let mut prepared = chunk
                .iter()
                .map(|s| s.build()?.prepare(threads))
                .collect::<Result<Vec<Prepared>>>()?;
            out.extend(measure_all(
                &mut prepared,
                (timing.rounds, timing.statistic),
                &mut |r, n| progress(&format!("  timing round {}/{n}", r + 1)),
            )?);
        }
        per_pass.push(out);
    }
    let stat = timing.statistic;
    let out = (0..specs.len())
        .map(|i| {
            let of = |f: &dyn Fn(&Measured) -> f64| stat.of(per_pass.iter().map(|p| f(&p[i])).collect());
            let first = &per_pass[0][i];
            Measured {
                steps_ns: (0..first.steps_ns.len()).map(|j| of(&|m| m.steps_ns[j])).collect(),
                total_ns: of(&|m| m.total_ns),
                ..first.clone()
            }
        })
        .collect();
    Ok(out)
}

/// Times all workloads in `rounds` rounds, each round running every workload once in turn, so
/// that a slow spell of a shared machine (seconds long) lands on all of them alike instead of
/// skewing a few; each time is `stat` over the rounds. `progress(round, rounds)` is called
/// before each round.
pub fn measure_all(
    prepared: &mut [Prepared],
    (rounds, stat): (usize, Statistic),
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Measured>> {
    // An untimed pass first: page faults, clock ramp-up and first-touch costs land here.
    for p in prepared.iter_mut() {
        p.exe.run(&p.inputs).map_err(backend)?;
    }
    for r in 0..rounds.max(1) {
        progress(r, rounds.max(1));
        for p in prepared.iter_mut() {
            p.round()?;
        }
    }
    Ok(prepared.iter().map(|p| p.measured(stat)).collect())
}
