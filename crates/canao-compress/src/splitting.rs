//! ADMM and Surrogate Lagrangian Relaxation (SLR) pruning (ALGORITHMS.md §3): train W with the
//! penalty (rho / 2) * ||W - Z + U||^2 per constrained weight, Z in the structure's set, and
//! update Z and the scaled multiplier U = Lambda / rho between epochs. This file holds the
//! variables and their update rules; the training loop calls [`Splitting::update`] at each
//! epoch's end and pulls W towards [`Splitting::target`] (Z - U).
//!
//! The rules follow the public SLR code (Zhoushanglin100/SLR-ADMM-cifar10, `slr/admm.py`),
//! with three choices of ours, each where that code is ambiguous or slips:
//! - The surrogate's loss is the task loss of the weights as they stand at the epoch's end, on a
//!   fixed sample of the training data (the code averages the batch losses seen during the
//!   epoch, taken at moving weights).
//! - W_prev is a copy of W at the last accepted update (the code keeps a reference to the live
//!   parameter, so from the first update on its W_prev always equals W).
//! - The rho/2 ||U||^2 term that the code adds to both sides of each check cancels; it is left out.
//!
//! Everything else is as there: both checks are skipped at k = 1; the first check compares
//! L(W, Z_prev) against L(W_prev, Z_prev) and on failure leaves Lambda, s, k as they were; Z is
//! always re-projected; the second check compares L(W, Z_new) against L(W, Z_prev) and on
//! failure keeps Z_new; the step size is one global scalar, s_k = alpha_k s_{k-1} n1 / n2 with
//! n1, n2 sums of per-layer Frobenius norms; k counts accepted multiplier updates; the previous
//! loss starts at 0.

use canao_ir::{Sparsity, Weights};
use canao_tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::CompressError;
use crate::structure::{Rows, Structure};

type Result<T> = std::result::Result<T, CompressError>;

/// SLR's step-size rule: alpha_k = 1 - 1 / (m * k^(1 - 1 / k^r)), starting from `s0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlrParams {
    pub m: f64,
    pub r: f64,
    pub s0: f64,
}

impl Default for SlrParams {
    /// The public code's defaults.
    fn default() -> Self {
        Self {
            m: 300.0,
            r: 0.1,
            s0: 0.01,
        }
    }
}

impl SlrParams {
    fn alpha(&self, k: u64) -> f64 {
        let k = k as f64;
        1.0 - 1.0 / (self.m * k.powf(1.0 - 1.0 / k.powf(self.r)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SplitMethod {
    /// Z and U updated after every `interval` epochs.
    Admm {
        interval: usize,
    },
    Slr(SlrParams),
}

/// One constrained weight: its name, its matrix shape, the structure, how many groups stay and
/// whether every row of tiles must keep one.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub param: String,
    pub shape: [usize; 2],
    pub structure: Structure,
    pub keep: usize,
    pub rows: Rows,
}

impl Layer {
    /// The projection of `v` onto this layer's set, as values and as the mask that gives them.
    pub fn project(&self, v: &[f32]) -> Result<(Vec<f32>, Sparsity)> {
        let mask = self
            .structure
            .project(&self.param, self.shape, v, self.keep, self.rows)?;
        let mut out = v.to_vec();
        mask.project(&self.shape, &mut out);
        Ok((out, mask))
    }

    /// The groups the projection keeps, given their norms.
    pub fn kept(&self, norms: &[f64]) -> Result<Vec<bool>> {
        self.structure
            .kept(&self.param, self.shape, norms, self.keep, self.rows)
    }
}

/// A layer's split variables. `w_prev` and `z_prev` are SLR's iterates of the last accepted
/// multiplier update.
#[derive(Debug, Clone, PartialEq)]
struct Vars {
    z: Vec<f32>,
    u: Vec<f32>,
    w_prev: Vec<f32>,
    z_prev: Vec<f32>,
}

/// The scalar state: SLR's step size, its count of accepted updates and the last loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scalars {
    pub s: f64,
    pub k: u64,
    pub loss_prev: f64,
}

/// What one epoch's update did, for the run's metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitReport {
    pub epoch: usize,
    pub updated: bool,
    pub task_loss: f64,
    /// Sum over layers of ||W - Z|| after the update: how far W still is from the structure.
    pub primal_residual: f64,
    /// SLR only: the step size and accepted-update count after the update, and the checks.
    pub step_size: Option<f64>,
    pub k: Option<u64>,
    pub first_check: Option<bool>,
    pub second_check: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Splitting {
    method: SplitMethod,
    rho: f64,
    layers: Vec<Layer>,
    vars: Vec<Vars>,
    scalars: Scalars,
}

const STATE_PARTS: [&str; 4] = ["z", "u", "w_prev", "z_prev"];

impl Splitting {
    /// Starts from the weights W0: Z = Proj(W0), U = 0.
    pub fn new(method: SplitMethod, rho: f64, layers: Vec<Layer>, weights: &Weights) -> Result<Self> {
        check_settings(method, rho)?;
        let mut vars = Vec::with_capacity(layers.len());
        for layer in &layers {
            let w = weight(weights, layer)?;
            let (z, _) = layer.project(w)?;
            vars.push(Vars {
                u: vec![0.0; w.len()],
                w_prev: w.to_vec(),
                z_prev: z.clone(),
                z,
            });
        }
        let s = match method {
            SplitMethod::Slr(p) => p.s0,
            SplitMethod::Admm { .. } => 0.0,
        };
        Ok(Self {
            method,
            rho,
            layers,
            vars,
            scalars: Scalars {
                s,
                k: 1,
                loss_prev: 0.0,
            },
        })
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    pub fn rho(&self) -> f64 {
        self.rho
    }

    /// What layer `i`'s weight is pulled towards: Z - U.
    pub fn target(&self, i: usize) -> Vec<f32> {
        let v = &self.vars[i];
        v.z.iter().zip(&v.u).map(|(z, u)| z - u).collect()
    }

    /// The update after `epoch` (0-based), with the weights and their task loss at its end.
    pub fn update(&mut self, epoch: usize, weights: &Weights, task_loss: f64) -> Result<SplitReport> {
        let method = self.method_name();
        if !task_loss.is_finite() {
            return Err(diverged(method, epoch, format!("task loss is {task_loss}")));
        }
        let w = self.weights(weights)?;
        if let Some(layer) = w
            .iter()
            .zip(&self.layers)
            .find(|(w, _)| w.iter().any(|v| !v.is_finite()))
        {
            return Err(diverged(
                method,
                epoch,
                format!("weight `{}` is not finite", layer.1.param),
            ));
        }
        let mut report = SplitReport {
            epoch,
            updated: false,
            task_loss,
            primal_residual: 0.0,
            step_size: None,
            k: None,
            first_check: None,
            second_check: None,
        };
        match self.method {
            SplitMethod::Admm { interval } => {
                if (epoch + 1).is_multiple_of(interval) {
                    self.admm(&w)?;
                    report.updated = true;
                }
            }
            SplitMethod::Slr(p) => {
                let (first, second) = self.slr(p, &w, task_loss)?;
                report.updated = true;
                report.first_check = Some(first);
                report.second_check = Some(second);
                report.step_size = Some(self.scalars.s);
                report.k = Some(self.scalars.k);
                if !self.scalars.s.is_finite() {
                    return Err(diverged(method, epoch, format!("step size is {}", self.scalars.s)));
                }
            }
        }
        report.primal_residual = self.vars.iter().zip(&w).map(|(v, w)| distance(w, &v.z)).sum();
        Ok(report)
    }

    /// Z = Proj(W + U); U = U + W - Z.
    fn admm(&mut self, w: &[&[f32]]) -> Result<()> {
        for ((layer, v), w) in self.layers.iter().zip(&mut self.vars).zip(w) {
            let shifted: Vec<f32> = w.iter().zip(&v.u).map(|(w, u)| w + u).collect();
            v.z = layer.project(&shifted)?.0;
            for ((u, w), z) in v.u.iter_mut().zip(*w).zip(&v.z) {
                *u += w - z;
            }
        }
        Ok(())
    }

    /// SLR's epoch update; returns whether each of the two checks passed.
    fn slr(&mut self, p: SlrParams, w: &[&[f32]], loss: f64) -> Result<(bool, bool)> {
        let first_start = self.scalars.k == 1;
        let first =
            first_start || loss + self.pull(w, |v| &v.z_prev) < self.scalars.loss_prev + self.pull_prev(|v| &v.z_prev);
        if first {
            let n1 = self.norms(|v| (&v.w_prev, &v.z_prev));
            let n2 = self.norms_to(w, |v| &v.z_prev);
            self.multiplier_step(p, n1, n2, w, |v| &v.z_prev);
        }
        for ((layer, v), w) in self.layers.iter().zip(&mut self.vars).zip(w) {
            let shifted: Vec<f32> = w.iter().zip(&v.u).map(|(w, u)| w + u).collect();
            v.z = layer.project(&shifted)?.0;
        }
        let second =
            self.scalars.k == 1 || loss + self.pull(w, |v| &v.z) < self.scalars.loss_prev + self.pull(w, |v| &v.z_prev);
        if second {
            let n1 = self.norms(|v| (&v.w_prev, &v.z_prev));
            let n2 = self.norms_to(w, |v| &v.z);
            self.multiplier_step(p, n1, n2, w, |v| &v.z);
        }
        self.scalars.loss_prev = loss;
        Ok((first, second))
    }

    /// Lambda = Lambda + s (W - Z*) with s from the step-size rule, for Z* the `towards`
    /// iterate; then W_prev = W, Z_prev = Z (the current Z), k = k + 1.
    fn multiplier_step(&mut self, p: SlrParams, n1: f64, n2: f64, w: &[&[f32]], towards: fn(&Vars) -> &Vec<f32>) {
        let sc = &mut self.scalars;
        if n1 > 0.0 && n2 > 0.0 {
            sc.s *= p.alpha(sc.k) * n1 / n2;
        }
        let scale = (sc.s / self.rho) as f32;
        for (v, w) in self.vars.iter_mut().zip(w) {
            let step: Vec<f32> = w.iter().zip(towards(v)).map(|(w, z)| scale * (w - z)).collect();
            for (u, d) in v.u.iter_mut().zip(step) {
                *u += d;
            }
            v.w_prev = w.to_vec();
            v.z_prev = v.z.clone();
        }
        sc.k += 1;
    }

    /// sum over layers of (rho / 2) ||W - Z* + U||^2, Z* chosen by `z`.
    fn pull(&self, w: &[&[f32]], z: fn(&Vars) -> &Vec<f32>) -> f64 {
        let mut total = 0.0;
        for (v, w) in self.vars.iter().zip(w) {
            for ((w, z), u) in w.iter().zip(z(v)).zip(&v.u) {
                total += f64::from(w - z + u).powi(2);
            }
        }
        self.rho / 2.0 * total
    }

    /// [`Self::pull`] at W_prev.
    fn pull_prev(&self, z: fn(&Vars) -> &Vec<f32>) -> f64 {
        let w_prev: Vec<&[f32]> = self.vars.iter().map(|v| v.w_prev.as_slice()).collect();
        self.pull(&w_prev, z)
    }

    /// sum over layers of ||A - B|| for the pair `pair` picks.
    fn norms(&self, pair: fn(&Vars) -> (&Vec<f32>, &Vec<f32>)) -> f64 {
        self.vars
            .iter()
            .map(|v| {
                let (a, b) = pair(v);
                distance(a, b)
            })
            .sum()
    }

    /// sum over layers of ||W - Z*||.
    fn norms_to(&self, w: &[&[f32]], z: fn(&Vars) -> &Vec<f32>) -> f64 {
        self.vars.iter().zip(w).map(|(v, w)| distance(w, z(v))).sum()
    }

    /// The hard prune: each layer's weight projected onto its set, as the mask that does it.
    pub fn hard_prune(&self, weights: &Weights) -> Result<Vec<(String, Sparsity)>> {
        self.layers
            .iter()
            .map(|layer| Ok((layer.param.clone(), layer.project(weight(weights, layer)?)?.1)))
            .collect()
    }

    /// The variables as named tensors (`z/PARAM`, `u/PARAM`, ...) and the scalars.
    pub fn state(&self) -> (Vec<(String, Tensor)>, Scalars) {
        let mut tensors = Vec::new();
        for (layer, v) in self.layers.iter().zip(&self.vars) {
            for (part, data) in STATE_PARTS.iter().zip([&v.z, &v.u, &v.w_prev, &v.z_prev]) {
                let t = Tensor::new(layer.shape.to_vec(), data.clone()).expect("variables have the layer's shape");
                tensors.push((format!("{part}/{}", layer.param), t));
            }
        }
        (tensors, self.scalars)
    }

    /// Restores what [`Self::state`] gave; errors name the missing or misshapen tensor.
    pub fn restore(&mut self, tensors: &Weights, scalars: Scalars) -> Result<()> {
        for (layer, v) in self.layers.iter().zip(&mut self.vars) {
            let mut parts = Vec::with_capacity(STATE_PARTS.len());
            for part in STATE_PARTS {
                let name = format!("{part}/{}", layer.param);
                let t = tensors.dense(&name)?;
                if t.shape() != layer.shape {
                    return Err(CompressError::Shape {
                        name,
                        shape: t.shape().to_vec(),
                    });
                }
                parts.push(t.data().to_vec());
            }
            let [z, u, w_prev, z_prev] = <[Vec<f32>; 4]>::try_from(parts).expect("four parts");
            *v = Vars { z, u, w_prev, z_prev };
        }
        self.scalars = scalars;
        Ok(())
    }

    fn method_name(&self) -> &'static str {
        match self.method {
            SplitMethod::Admm { .. } => "ADMM",
            SplitMethod::Slr(_) => "SLR",
        }
    }

    fn weights<'w>(&self, weights: &'w Weights) -> Result<Vec<&'w [f32]>> {
        self.layers.iter().map(|l| weight(weights, l)).collect()
    }
}

fn check_settings(method: SplitMethod, rho: f64) -> Result<()> {
    let bad = |field: &str, detail: String| {
        Err(CompressError::Setting {
            field: field.into(),
            detail,
        })
    };
    if !(rho.is_finite() && rho > 0.0) {
        return bad("rho", format!("is {rho}, must be positive"));
    }
    match method {
        SplitMethod::Admm { interval: 0 } => bad("interval", "must be at least 1 epoch".into()),
        SplitMethod::Slr(p) if !(p.m.is_finite() && p.m > 1.0) => bad("m", format!("is {}, must exceed 1", p.m)),
        SplitMethod::Slr(p) if !(p.r.is_finite() && p.r > 0.0) => bad("r", format!("is {}, must be positive", p.r)),
        SplitMethod::Slr(p) if !(p.s0.is_finite() && p.s0 > 0.0) => bad("s0", format!("is {}, must be positive", p.s0)),
        _ => Ok(()),
    }
}

/// The weight of `layer`, checked against the layer's shape.
fn weight<'w>(weights: &'w Weights, layer: &Layer) -> Result<&'w [f32]> {
    let t = weights.dense(&layer.param)?;
    if t.len() != layer.shape[0] * layer.shape[1] {
        return Err(CompressError::Shape {
            name: layer.param.clone(),
            shape: t.shape().to_vec(),
        });
    }
    Ok(t.data())
}

fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn diverged(method: &'static str, epoch: usize, detail: String) -> CompressError {
    CompressError::Diverged { method, epoch, detail }
}

#[cfg(test)]
#[path = "splitting_tests.rs"]
mod tests;
