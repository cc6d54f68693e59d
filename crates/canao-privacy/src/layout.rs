//! A model as the federation moves it: its tensors in a fixed order (canao's parameter names,
//! sorted), flattened, and a digest that names one exact set of weights (the "model version"
//! an update is bound to).

use canao_ir::Weights;
use sha2::{Digest, Sha256};

use crate::error::Result;

/// The names and shapes of a model's tensors, in the order updates list them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub tensors: Vec<(String, Vec<usize>)>,
}

impl Layout {
    /// The layout of `weights`' dense tensors, in name order.
    pub fn of(weights: &Weights) -> Result<Self> {
        let tensors = weights
            .iter()
            .map(|(name, _)| Ok((name.clone(), weights.dense(name)?.shape().to_vec())))
            .collect::<Result<_>>()?;
        Ok(Self { tensors })
    }

    /// Entries per tensor.
    pub fn lens(&self) -> Vec<usize> {
        self.tensors.iter().map(|(_, s)| s.iter().product()).collect()
    }

    /// `weights`' tensors flattened in layout order.
    pub fn flatten(&self, weights: &Weights) -> Result<Vec<Vec<f32>>> {
        self.tensors
            .iter()
            .map(|(name, _)| Ok(weights.dense(name)?.data().to_vec()))
            .collect()
    }

    /// Weights from flattened tensors in layout order.
    pub fn weights(&self, flat: &[Vec<f32>]) -> Result<Weights> {
        let mut w = Weights::new();
        for ((name, shape), data) in self.tensors.iter().zip(flat) {
            w.insert_dense(name.clone(), canao_tensor::Tensor::new(shape.clone(), data.clone())?);
        }
        Ok(w)
    }
}

/// The first 8 bytes of SHA-256 over the tensors' names, shapes and values.
pub fn digest(layout: &Layout, flat: &[Vec<f32>]) -> u64 {
    let mut h = Sha256::new();
    for ((name, shape), data) in layout.tensors.iter().zip(flat) {
        h.update(name.as_bytes());
        shape.iter().for_each(|d| h.update((*d as u64).to_le_bytes()));
        data.iter().for_each(|x| h.update(x.to_le_bytes()));
    }
    let bytes = h.finalize();
    u64::from_le_bytes(bytes[..8].try_into().expect("SHA-256 has 32 bytes"))
}
