//! The bridge between burn modules and canao's `Weights`. A module's parameters are named by
//! their field path joined with `.` (`enc.0.attn.q.w`), each component less one trailing `_` so
//! that fields named after Rust keywords (`type_`, `in_`) give canao's names (`emb.type`,
//! `ffn.in`). Parameter ids are derived from those names, so an optimiser state saved against one
//! instance of a model loads into another built from the same weights (checkpoint resume).

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Device, Tensor, TensorData};
use canao_ir::{ParamValue, Weights};

use crate::error::{Result, TrainError};

pub(crate) fn canao_name(path: &[String]) -> String {
    path.iter()
        .map(|c| c.strip_suffix('_').unwrap_or(c))
        .collect::<Vec<_>>()
        .join(".")
}

/// A stable parameter id for a canao name (FNV-1a), so ids survive a rebuild of the module.
pub fn param_id(name: &str) -> ParamId {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    ParamId::from(hash)
}

/// A parameter holding `t` (shape checked to rank `D` by the caller), with the id of `name`.
pub fn param<const D: usize>(name: &str, t: &canao_tensor::Tensor, device: &Device) -> Param<Tensor<D>> {
    let data = TensorData::new(t.data().to_vec(), t.shape().to_vec());
    Param::initialized(param_id(name), Tensor::from_data(data, device).require_grad())
}

/// Reads a burn tensor back as a canao tensor.
pub fn to_canao<const D: usize>(t: &Tensor<D>) -> canao_tensor::Tensor {
    let shape = t.dims().to_vec();
    let data = t
        .to_data()
        .try_to_vec::<f32>()
        .expect("float parameters of the flex backend are f32");
    canao_tensor::Tensor::new(shape, data).expect("a tensor's data matches its dims")
}

/// Every float parameter of `module` under its canao name.
pub fn export<M: Module>(module: &M) -> Weights {
    let mut visitor = Exporter::default();
    module.visit(&mut visitor);
    visitor.weights
}

#[derive(Default)]
struct Exporter {
    path: Vec<String>,
    weights: Weights,
}

impl ModuleVisitor for Exporter {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.weights
            .insert_dense(canao_name(&self.path), to_canao(&param.val()));
    }
}

/// Rewrites the float parameters of `module` that `select` picks by name with
/// `f(name, tensor)`, keeping their ids (and leaving the others untouched, uncopied).
pub fn map_named<M: Module>(
    module: M,
    select: &dyn Fn(&str) -> bool,
    f: &mut dyn FnMut(&str, canao_tensor::Tensor) -> canao_tensor::Tensor,
) -> M {
    let mut mapper = Mapper {
        path: Vec::new(),
        select,
        f,
    };
    module.map(&mut mapper)
}

struct Mapper<'a> {
    path: Vec<String>,
    select: &'a dyn Fn(&str) -> bool,
    f: &'a mut dyn FnMut(&str, canao_tensor::Tensor) -> canao_tensor::Tensor,
}

impl ModuleMapper for Mapper<'_> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = canao_name(&self.path);
        if !(self.select)(&name) {
            return param;
        }
        let f = &mut self.f;
        param.map(|t| {
            let device = t.device();
            let grad = t.is_require_grad();
            let out = f(&name, to_canao(&t));
            let t = Tensor::from_data(TensorData::new(out.into_data(), t.dims().to_vec()), &device);
            if grad { t.require_grad() } else { t }
        })
    }
}

/// Takes the dense tensors a model needs out of `weights` by name: every name must be present
/// with its shape, and nothing may be left over. Errors name the parameter.
#[derive(Debug)]
pub struct WeightSource {
    left: BTreeMap<String, canao_tensor::Tensor>,
}

impl WeightSource {
    pub fn new(weights: &Weights) -> Result<Self> {
        let mut left = BTreeMap::new();
        for (name, value) in weights.iter() {
            match value {
                ParamValue::Dense(t) => {
                    t.check_finite(name)?;
                    left.insert(name.clone(), t.clone());
                }
                ParamValue::Csr(_) => {
                    return Err(TrainError::Param {
                        param: name.clone(),
                        detail: "is a CSR matrix; trainable parameters are dense".into(),
                    });
                }
            }
        }
        Ok(Self { left })
    }

    /// The parameter `name` of `shape` as a burn parameter on `device`.
    pub fn take<const D: usize>(&mut self, name: &str, shape: [usize; D], device: &Device) -> Result<Param<Tensor<D>>> {
        let t = self.left.remove(name).ok_or_else(|| TrainError::Param {
            param: name.to_string(),
            detail: format!("missing (the model needs shape {shape:?})"),
        })?;
        if t.shape() != shape {
            return Err(TrainError::Param {
                param: name.to_string(),
                detail: format!("has shape {:?}, the model needs {shape:?}", t.shape()),
            });
        }
        Ok(param(name, &t, device))
    }

    /// Ends the load: any parameter not taken is an error.
    pub fn finish(self) -> Result<()> {
        match self.left.keys().next() {
            Some(extra) => Err(TrainError::Param {
                param: extra.clone(),
                detail: "is not a parameter of the model".into(),
            }),
            None => Ok(()),
        }
    }
}
