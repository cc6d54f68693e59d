//! The seam for methods that shape weights through the loss while training (ADMM and SLR's
//! augmented Lagrangian, group-Lasso penalties): a term added to every step's loss, a hook at
//! each epoch's end that may update the method's own variables, and that state saved in every
//! checkpoint so a resumed run continues exactly.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use canao_ir::Weights;

use crate::error::Result;

/// What a regulariser carries across a checkpoint: named tensors and scalars.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegulariserState {
    pub tensors: Weights,
    pub scalars: serde_json::Value,
}

/// What the loop offers a regulariser at an epoch's end.
pub struct EpochEnd<'a, M> {
    pub epoch: usize,
    /// The model as trained so far (evaluation mode).
    pub model: &'a M,
    /// Mean task loss (no penalty, no dropout) of a model on a fixed sample of the training
    /// part, the same items at every call.
    pub task_loss: &'a mut dyn FnMut(&M) -> f64,
}

impl<M> std::fmt::Debug for EpochEnd<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochEnd")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

pub trait Regulariser<M> {
    /// A term added to the loss of every step, on the autodiff model; `None` adds nothing.
    fn penalty(&mut self, model: &M) -> Option<Tensor<1>>;

    /// Called after each epoch's validation; returns what to log for the epoch.
    fn end_epoch(&mut self, end: EpochEnd<'_, M>) -> Result<serde_json::Value>;

    fn state(&self) -> RegulariserState;

    fn restore(&mut self, state: RegulariserState) -> Result<()>;
}

/// Plain training: no penalty, no state.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPenalty;

impl<M> Regulariser<M> for NoPenalty {
    fn penalty(&mut self, _model: &M) -> Option<Tensor<1>> {
        None
    }

    fn end_epoch(&mut self, _end: EpochEnd<'_, M>) -> Result<serde_json::Value> {
        Ok(serde_json::Value::Null)
    }

    fn state(&self) -> RegulariserState {
        RegulariserState::default()
    }

    fn restore(&mut self, _state: RegulariserState) -> Result<()> {
        Ok(())
    }
}

/// A quadratic pull of named parameters towards targets: sum over them of
/// (rho / 2) * ||W - T||^2 (ADMM and SLR with T = Z - U). Targets are held as flat burn
/// tensors, built once per change rather than at every step.
#[derive(Debug, Default)]
pub struct Proximal {
    targets: BTreeMap<String, Tensor<1>>,
    pub rho: f32,
}

impl Proximal {
    pub fn new(rho: f32) -> Self {
        Self {
            targets: BTreeMap::new(),
            rho,
        }
    }

    /// Replaces the target of `param` (row-major values of the parameter's shape).
    pub fn set_target(&mut self, param: &str, values: Vec<f32>, device: &burn::tensor::Device) {
        let n = values.len();
        let t = Tensor::from_data(TensorData::new(values, [n]), device);
        self.targets.insert(param.to_string(), t);
    }

    /// The penalty on `model`'s parameters; `None` while no target is set.
    pub fn term<M: Module>(&self, model: &M) -> Option<Tensor<1>> {
        let sum = sum_over_params(model, &mut |name, w| {
            let target = self.targets.get(name)?;
            Some((w - target.clone()).square().sum())
        });
        sum.map(|s| s.mul_scalar(self.rho / 2.0))
    }
}

/// The sum over `model`'s float parameters of `term(canao name, flat values)`, skipping those
/// it returns `None` for; `None` when it skips them all.
pub fn sum_over_params<M: Module>(
    model: &M,
    term: &mut dyn FnMut(&str, Tensor<1>) -> Option<Tensor<1>>,
) -> Option<Tensor<1>> {
    let mut visitor = ParamSum {
        path: Vec::new(),
        term,
        sum: None,
    };
    model.visit(&mut visitor);
    visitor.sum
}

struct ParamSum<'a> {
    path: Vec<String>,
    term: &'a mut dyn FnMut(&str, Tensor<1>) -> Option<Tensor<1>>,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for ParamSum<'_> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let w = param.val();
        let n = w.shape().num_elements();
        let Some(term) = (self.term)(&crate::params::canao_name(&self.path), w.reshape([n])) else {
            return;
        };
        self.sum = Some(match self.sum.take() {
            Some(s) => s + term,
            None => term,
        });
    }
}
