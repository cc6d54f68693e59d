//! Structure constraints that training honours: per parameter, an IR `Sparsity` (block mask,
//! pattern set with an assignment, block-circulant). After every optimiser step each constrained
//! weight is projected onto its structure (`Sparsity::project`: masks zero what they drop,
//! circulant tiles become the average of their wrapped diagonals), so the trained weight lies
//! exactly in the structure, and the same `Sparsity` is what the IR graph declares for it.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;
use canao_ir::{Graph, Sparsity, Weights};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError, io};
use crate::params;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    map: BTreeMap<String, Sparsity>,
}

/// A weight's shape as the matrix its structure tiles: [out, everything else].
fn matrix(shape: &[usize]) -> [usize; 2] {
    [shape[0], shape[1..].iter().product()]
}

impl Constraints {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Sparsity)> {
        self.map.iter()
    }

    /// Constrains `param` (of `shape`) to `sparsity`, checked against the shape.
    pub fn insert(&mut self, param: &str, shape: &[usize], sparsity: Sparsity) -> Result<()> {
        sparsity.validate(param, &matrix(shape))?;
        self.map.insert(param.to_string(), sparsity);
        Ok(())
    }

    /// Projects every constrained parameter of `model` onto its structure.
    pub fn project<M: Module>(&self, model: M) -> M {
        if self.map.is_empty() {
            return model;
        }
        params::map_named(model, &|name| self.map.contains_key(name), &mut |name, mut t| {
            let shape = matrix(t.shape());
            self.map[name].project(&shape, t.data_mut());
            t
        })
    }

    /// Projects weights held as `Weights` (for checks and export).
    pub fn project_weights(&self, weights: &mut Weights) -> Result<()> {
        for (name, s) in &self.map {
            let mut t = weights.dense(name)?.clone();
            s.project(&matrix(t.shape()), t.data_mut());
            weights.insert_dense(name.clone(), t);
        }
        Ok(())
    }

    /// Declares every constraint as its parameter's sparsity in `graph`.
    pub fn apply_to(&self, graph: &mut Graph) -> Result<()> {
        for (name, s) in &self.map {
            graph.set_sparsity(name, s.clone())?;
        }
        Ok(())
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let text = ron::ser::to_string(self).expect("constraints serialise");
        let tmp = path.with_extension("ron.tmp");
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        ron::from_str(&text).map_err(|e| TrainError::Checkpoint {
            file: path.to_path_buf(),
            detail: e.to_string(),
        })
    }
}
