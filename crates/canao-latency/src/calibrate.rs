//! Fitting a per-kernel-class model to measured step times, checking it on held-out workloads,
//! and the raw calibration data as CSV. The measuring (a backend running workloads) is
//! `canao-calibrate`'s; this side reads only the work schema and times.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use canao_ir::KernelClass;

use crate::error::Result;
use crate::features::{NAMES, Row, rows};
use crate::fitted::{Fitted, LatencyModel};
use crate::measured::{ANCHOR, Measured, Statistic, median};
use crate::nnls::nnls;

/// Every fourth workload is held out of the fit and used to check it.
pub fn held_out(index: usize) -> bool {
    index % 4 == 3
}

/// Fits each kernel class by non-negative least squares on relative error (each row divided by
/// its measured time, so a 2 us layer norm and a 2 ms GEMM weigh alike within their class).
/// Takes (class, features, measured ns); returns class -> feature -> nanoseconds per unit,
/// listing only the features the class uses.
pub fn fit(samples: &[(KernelClass, Row, f64)]) -> BTreeMap<KernelClass, BTreeMap<String, f64>> {
    let mut by_class: BTreeMap<KernelClass, Vec<(&Row, f64)>> = BTreeMap::new();
    for (class, row, ns) in samples {
        if *ns > 0.0 {
            by_class.entry(*class).or_default().push((row, *ns));
        }
    }
    by_class
        .into_iter()
        .map(|(class, rows)| {
            let a: Vec<Vec<f64>> = rows.iter().map(|(r, ns)| r.iter().map(|f| f / ns).collect()).collect();
            let x = nnls(&a, &vec![1.0; rows.len()], NAMES.len());
            let used = NAMES
                .iter()
                .enumerate()
                .filter(|&(i, _)| rows.iter().any(|(r, _)| r[i] != 0.0))
                .map(|(i, name)| (name.to_string(), x[i]))
                .collect();
            (class, used)
        })
        .collect()
}

/// Accuracy figures of a prediction set: mean absolute percentage error, and the share of
/// predictions within 10 % of the measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    pub count: usize,
    pub mape: f64,
    pub within_10pct: f64,
}

impl Accuracy {
    /// From (predicted, measured) pairs.
    pub fn of(pairs: &[(f64, f64)]) -> Self {
        let errs: Vec<f64> = pairs
            .iter()
            .filter(|(_, m)| *m > 0.0)
            .map(|(p, m)| ((p - m) / m).abs())
            .collect();
        let n = errs.len().max(1) as f64;
        Self {
            count: errs.len(),
            mape: 100.0 * errs.iter().sum::<f64>() / n,
            within_10pct: errs.iter().filter(|&&e| e <= 0.10).count() as f64 / n,
        }
    }
}

/// One CSV row per step of every workload: workload, split, the host's drift it was normalised
/// by (times are already divided by it), step, class, the model features
/// (spill for a cache of `resident_bytes`), the measured time (ns) and, last, a row per
/// workload for its end-to-end time (class `total`).
pub fn to_csv(measured: &[Measured], resident_bytes: f64) -> String {
    let mut s = format!("workload,split,drift,step,class,{},measured_ns\n", NAMES.join(","));
    for (i, m) in measured.iter().enumerate() {
        let split = if held_out(i) { "held_out" } else { "fit" };
        for (j, ((w, row), ns)) in m
            .work
            .iter()
            .zip(rows(&m.work, resident_bytes))
            .zip(&m.steps_ns)
            .enumerate()
        {
            let feats: Vec<String> = row.iter().map(|f| f.to_string()).collect();
            writeln!(
                s,
                "{},{split},{:.4},{j},{},{},{ns:.0}",
                m.name,
                m.drift,
                w.class,
                feats.join(",")
            )
            .expect("string");
        }
        let zeros = vec!["0"; NAMES.len()].join(",");
        writeln!(s, "{},{split},{:.4},,total,{zeros},{:.0}", m.name, m.drift, m.total_ns).expect("string");
    }
    s
}

/// Splits measurements into groups ending with an anchor, divides each group's times by its
/// anchor over the median anchor, and drops the anchors. Returns the normalised measurements and
/// the median anchor time (ms): the reference speed they now stand at.
pub fn normalise_by_anchor(raw: &[Measured]) -> (Vec<Measured>, f64) {
    let groups: Vec<&[Measured]> = raw.split_inclusive(|m| m.name == ANCHOR).collect();
    let anchors: Vec<f64> = groups
        .iter()
        .filter_map(|g| g.last().filter(|m| m.name == ANCHOR).map(|m| m.total_ns))
        .collect();
    if anchors.is_empty() {
        return (raw.to_vec(), 0.0);
    }
    let reference = median(anchors);
    let measured = groups
        .iter()
        .flat_map(|g| {
            let drift = g
                .last()
                .filter(|m| m.name == ANCHOR)
                .map_or(1.0, |a| a.total_ns / reference);
            g.iter().filter(|m| m.name != ANCHOR).map(move |m| m.normalised(drift))
        })
        .collect();
    (measured, reference / 1e6)
}

/// What the fitted coefficients hold for: the host's threads, clock, read bandwidth and cache,
/// and how each workload's rounds were reduced to one time.
#[derive(Debug, Clone, Copy)]
pub struct FitSettings {
    pub threads: usize,
    pub statistic: Statistic,
    pub ghz: f64,
    pub bandwidth_gbs: f64,
    /// Bytes of weights the host keeps in cache between runs (its L2).
    pub resident_bytes: f64,
}

/// A fitted model with what it was fitted on and how well it does.
#[derive(Debug, Clone)]
pub struct Calibration {
    pub measured: Vec<Measured>,
    pub fitted: Fitted,
    /// Per-step accuracy on the fitted workloads and on the held-out ones.
    pub steps_fit: Accuracy,
    pub steps_held_out: Accuracy,
    /// Whole-workload accuracy (sum of step predictions against the end-to-end time) on the
    /// held-out workloads.
    pub totals_held_out: Accuracy,
    /// Every workload's end-to-end time against its prediction, in measurement order.
    pub totals: Vec<WorkloadTotal>,
}

/// One workload's measured end-to-end time and the fitted model's prediction of it (the graph
/// scale applied), both at the reference speed the measurements were normalised to.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadTotal {
    pub name: String,
    pub held_out: bool,
    pub measured_ms: f64,
    pub predicted_ms: f64,
}

/// Fits on three quarters of `raw` (measurements in groups, each ending with the anchor
/// workload, see [`normalise_by_anchor`]) and checks on the rest.
pub fn fit_calibration(raw: &[Measured], opts: &FitSettings) -> Result<Calibration> {
    let (measured, anchor_ms) = normalise_by_anchor(raw);
    let features: Vec<Vec<Row>> = measured.iter().map(|m| rows(&m.work, opts.resident_bytes)).collect();
    let samples: Vec<(KernelClass, Row, f64)> = measured
        .iter()
        .zip(&features)
        .enumerate()
        .filter(|(i, _)| !held_out(*i))
        .flat_map(|(_, (m, r))| {
            m.work
                .iter()
                .zip(r)
                .zip(&m.steps_ns)
                .map(|((w, r), ns)| (w.class, *r, *ns))
        })
        .collect();
    let mut fitted = Fitted {
        threads: opts.threads,
        reference_ghz: opts.ghz,
        reference_bandwidth_gbs: opts.bandwidth_gbs,
        resident_bytes: opts.resident_bytes,
        classes: fit(&samples),
        anchor_ms: Some(anchor_ms),
        statistic: opts.statistic,
        calibration_csv: None,
        graph_scale: 1.0,
    };
    // Steps are checked against the per-step fit; whole graphs with the graph scale fitted on
    // the same (not held-out) workloads.
    let steps_model = LatencyModel::from_classes("calibration", &fitted, 1.0, 1.0);
    let predictions = measured
        .iter()
        .map(|m| steps_model.predict(&m.work))
        .collect::<Result<Vec<_>>>()?;
    let ratios: Vec<f64> = measured
        .iter()
        .zip(&predictions)
        .enumerate()
        .filter(|(i, (_, p))| !held_out(*i) && p.total_ms > 0.0)
        .map(|(_, (m, p))| m.total_ns / (p.total_ms * 1e6))
        .collect();
    if !ratios.is_empty() {
        fitted.graph_scale = median(ratios);
    }
    let mut steps = [Vec::new(), Vec::new()];
    let mut totals = Vec::new();
    for (i, (m, p)) in measured.iter().zip(&predictions).enumerate() {
        let held = held_out(i);
        steps[usize::from(held)].extend(p.steps_ms.iter().map(|ms| ms * 1e6).zip(m.steps_ns.iter().copied()));
        totals.push(WorkloadTotal {
            name: m.name.clone(),
            held_out: held,
            measured_ms: m.total_ns / 1e6,
            predicted_ms: p.total_ms * fitted.graph_scale,
        });
    }
    let held_totals: Vec<(f64, f64)> = totals
        .iter()
        .filter(|t| t.held_out)
        .map(|t| (t.predicted_ms, t.measured_ms))
        .collect();
    Ok(Calibration {
        steps_fit: Accuracy::of(&steps[0]),
        steps_held_out: Accuracy::of(&steps[1]),
        totals_held_out: Accuracy::of(&held_totals),
        totals,
        fitted,
        measured,
    })
}
