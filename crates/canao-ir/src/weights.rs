use std::collections::BTreeMap;

use canao_tensor::{Csr, Tensor};

use crate::error::{IrError, Result};
use crate::graph::Graph;
use crate::sparsity::Sparsity;

/// The value bound to one parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Dense(Tensor),
    /// For parameters declared `csr(nnz=N)` (graph adjacency).
    Csr(Csr),
}

/// Parameter values by name, bound to a graph's declarations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Weights {
    map: BTreeMap<String, ParamValue>,
}

impl Weights {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: impl Into<String>, value: ParamValue) {
        self.map.insert(name.into(), value);
    }

    pub fn insert_dense(&mut self, name: impl Into<String>, t: Tensor) {
        self.insert(name, ParamValue::Dense(t));
    }

    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.map.get(name)
    }

    /// The dense tensor bound to `name`, or an error naming it.
    pub fn dense(&self, name: &str) -> Result<&Tensor> {
        match self.map.get(name) {
            Some(ParamValue::Dense(t)) => Ok(t),
            Some(ParamValue::Csr(_)) => Err(IrError::Weights(format!(
                "@{name} is bound to a CSR matrix, expected dense"
            ))),
            None => Err(IrError::Weights(format!("@{name} has no value bound"))),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &ParamValue)> {
        self.map.iter()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Checks that the values fit the graph exactly: every declared parameter bound with its
    /// shape and kind, nothing extra, no NaN or infinity. Errors name the parameter.
    pub fn check_against(&self, graph: &Graph) -> Result<()> {
        for (name, spec) in graph.params() {
            let value = self
                .map
                .get(name)
                .ok_or_else(|| IrError::Weights(format!("parameter @{name} {:?} has no value bound", spec.shape)))?;
            match (value, &spec.sparsity) {
                (ParamValue::Csr(m), Sparsity::Csr { nnz }) => {
                    if [m.rows(), m.cols()] != spec.shape[..] || m.nnz() != *nnz {
                        return Err(IrError::Weights(format!(
                            "@{name}: bound CSR is {}x{} with {} entries, declared {:?} with {nnz}",
                            m.rows(),
                            m.cols(),
                            m.nnz(),
                            spec.shape
                        )));
                    }
                }
                (ParamValue::Dense(t), s) if !matches!(s, Sparsity::Csr { .. }) => {
                    if t.shape() != spec.shape {
                        return Err(IrError::Weights(format!(
                            "@{name}: bound tensor has shape {:?}, declared {:?}",
                            t.shape(),
                            spec.shape
                        )));
                    }
                    t.check_finite(name)?;
                }
                _ => {
                    return Err(IrError::Weights(format!(
                        "@{name}: declared {} but bound to the other storage kind",
                        spec.sparsity.kind()
                    )));
                }
            }
        }
        if let Some(extra) = self.map.keys().find(|k| graph.param(k).is_none()) {
            return Err(IrError::Weights(format!(
                "@{extra} is bound but the graph declares no such parameter"
            )));
        }
        Ok(())
    }
}
