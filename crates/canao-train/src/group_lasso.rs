//! Reweighted group Lasso (ALGORITHMS.md §1) and its dynamic, target-bounded variant (§2) as one
//! training regulariser: the loss carries lambda * sum_g alpha_g * ||W_g||_2 over the groups of
//! every pruned weight (the structure's groups: elements, rows, columns or tiles), and the
//! coefficients are reset to alpha_g = 1 / (||W_g||_2 + eps) from the trained weights at
//! milestones, so groups already small are pushed harder.
//!
//! Bounded (§2): only groups outside the target's kept set (the `keep` largest by norm at the
//! update) carry a coefficient; the groups the constraint will keep train freely. Reweighted
//! (§1) penalises every group.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use canao_compress::{Layer, Structure};
use canao_ir::Weights;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::params;
use crate::regulariser::{EpochEnd, Regulariser, RegulariserState, sum_over_params};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupLassoParams {
    /// Weight of the penalty in the loss.
    pub lambda: f64,
    /// Epochs between reweightings (the public BERT code: every 4; §2 updates every epoch).
    pub every: usize,
    pub eps: f64,
    /// Penalise only the groups outside the target's kept set (§2).
    pub bounded: bool,
}

impl GroupLassoParams {
    pub fn reweighted() -> Self {
        Self {
            lambda: 1e-4,
            every: 4,
            eps: 1e-3,
            bounded: false,
        }
    }

    pub fn dynamic() -> Self {
        Self {
            lambda: 1e-4,
            every: 1,
            eps: 1e-3,
            bounded: true,
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, detail: String| {
            Err(TrainError::Config {
                field: field.into(),
                detail,
            })
        };
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return bad(
                "lambda",
                format!("must be finite and non-negative, got {}", self.lambda),
            );
        }
        if self.every == 0 {
            return bad("every", "must be at least 1 epoch".into());
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return bad("eps", format!("must be positive, got {}", self.eps));
        }
        Ok(())
    }
}

/// The L2 norm of every group of `w` (a row-major [rows, cols] matrix, flat) in tiles of
/// `tile`, row-major over the grid, as one burn expression (differentiable). Edge tiles are
/// padded with zeros; a tiny offset keeps the gradient of an all-zero group finite.
pub fn group_norms(w: Tensor<1>, shape: [usize; 2], tile: [usize; 2]) -> Tensor<1> {
    let ([rows, cols], [tr, tc]) = (shape, tile);
    let (gr, gc) = (rows.div_ceil(tr), cols.div_ceil(tc));
    let device = w.device();
    let mut m = w.reshape([rows, cols]);
    if gc * tc > cols {
        m = Tensor::cat(vec![m, Tensor::zeros([rows, gc * tc - cols], &device)], 1);
    }
    if gr * tr > rows {
        m = Tensor::cat(vec![m, Tensor::zeros([gr * tr - rows, gc * tc], &device)], 0);
    }
    m.reshape([gr, tr, gc, tc])
        .swap_dims(1, 2)
        .reshape([gr * gc, tr * tc])
        .square()
        .sum_dim(1)
        .reshape([gr * gc])
        .add_scalar(1e-12)
        .sqrt()
}

/// The coefficients after a reweighting: 1 / (norm + eps); with `bounded`, zero for the
/// groups the projection would keep now.
pub fn reweight(norms: &[f64], layer: &Layer, params: &GroupLassoParams) -> Result<Vec<f32>> {
    let mut alpha: Vec<f32> = norms.iter().map(|n| (1.0 / (n + params.eps)) as f32).collect();
    if params.bounded {
        for (a, kept) in alpha.iter_mut().zip(layer.kept(norms)?) {
            if kept {
                *a = 0.0;
            }
        }
    }
    Ok(alpha)
}

#[derive(Debug)]
pub struct GroupLasso {
    params: GroupLassoParams,
    layers: Vec<Layer>,
    /// Per layer (by parameter name), its coefficient per group.
    alpha: BTreeMap<String, Vec<f32>>,
    tensors: BTreeMap<String, Tensor<1>>,
    device: Device,
}

impl GroupLasso {
    /// Coefficients start from the weights being pruned (a first reweighting at the start).
    pub fn new(params: GroupLassoParams, layers: Vec<Layer>, weights: &Weights, device: Device) -> Result<Self> {
        params.validate()?;
        if let Some(l) = layers
            .iter()
            .find(|l| matches!(l.structure, Structure::Circulant { .. }))
        {
            return Err(TrainError::Param {
                param: l.param.clone(),
                detail: format!(
                    "group Lasso drives groups to zero; {} keeps every tile (use magnitude, admm or slr)",
                    l.structure
                ),
            });
        }
        let mut g = Self {
            params,
            layers,
            alpha: BTreeMap::new(),
            tensors: BTreeMap::new(),
            device,
        };
        g.reweight_from(weights)?;
        Ok(g)
    }

    pub fn alpha(&self, param: &str) -> Option<&[f32]> {
        self.alpha.get(param).map(Vec::as_slice)
    }

    fn reweight_from(&mut self, weights: &Weights) -> Result<()> {
        for layer in &self.layers {
            let t = weights.dense(&layer.param)?;
            let norms = layer.structure.group_norms(layer.shape, t.data());
            if let Some(g) = norms.iter().position(|n| !n.is_finite()) {
                return Err(TrainError::Param {
                    param: layer.param.clone(),
                    detail: format!("group {g} has a non-finite norm; the group-Lasso training diverged"),
                });
            }
            let alpha = reweight(&norms, layer, &self.params)?;
            self.alpha.insert(layer.param.clone(), alpha);
        }
        self.build_tensors();
        Ok(())
    }

    fn build_tensors(&mut self) {
        self.tensors = self
            .alpha
            .iter()
            .map(|(name, a)| {
                let data = TensorData::new(a.clone(), [a.len()]);
                (name.clone(), Tensor::from_data(data, &self.device))
            })
            .collect();
    }

    /// lambda * sum over layers and groups of alpha_g ||W_g||.
    pub fn term<M: Module>(&self, model: &M) -> Option<Tensor<1>> {
        let shapes: BTreeMap<&str, &Layer> = self.layers.iter().map(|l| (l.param.as_str(), l)).collect();
        let sum = sum_over_params(model, &mut |name, w| {
            let layer = shapes.get(name)?;
            let norms = group_norms(w, layer.shape, layer.structure.tile(layer.shape));
            Some((norms * self.tensors[name].clone()).sum())
        });
        sum.map(|s| s.mul_scalar(self.params.lambda as f32))
    }
}

impl<M: Module> Regulariser<M> for GroupLasso {
    fn penalty(&mut self, model: &M) -> Option<Tensor<1>> {
        self.term(model)
    }

    fn end_epoch(&mut self, end: EpochEnd<'_, M>) -> Result<serde_json::Value> {
        let due = (end.epoch + 1).is_multiple_of(self.params.every);
        if due {
            self.reweight_from(&params::export(end.model))?;
        }
        let penalised: usize = self.alpha.values().flatten().filter(|&&a| a > 0.0).count();
        Ok(serde_json::json!({"epoch": end.epoch, "reweighted": due, "penalised_groups": penalised}))
    }

    fn state(&self) -> RegulariserState {
        let mut tensors = Weights::new();
        for (name, a) in &self.alpha {
            let t = canao_tensor::Tensor::new(vec![a.len()], a.clone()).expect("length matches");
            tensors.insert_dense(name.clone(), t);
        }
        RegulariserState {
            tensors,
            scalars: serde_json::Value::Null,
        }
    }

    fn restore(&mut self, state: RegulariserState) -> Result<()> {
        for layer in &self.layers {
            let groups = layer.structure.groups(layer.shape);
            let t = state.tensors.dense(&layer.param)?;
            if t.len() != groups {
                return Err(TrainError::Param {
                    param: layer.param.clone(),
                    detail: format!(
                        "the checkpoint holds {} group-Lasso coefficients, the layer has {groups} groups",
                        t.len()
                    ),
                });
            }
            self.alpha.insert(layer.param.clone(), t.data().to_vec());
        }
        self.build_tensors();
        Ok(())
    }
}
