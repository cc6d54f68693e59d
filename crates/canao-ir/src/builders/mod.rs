//! Architecture descriptions (serde, readable from RON) and the graphs they build.

mod bert;
mod gcn;
mod lenet;
mod linear;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{IrError, Result};
use crate::graph::Graph;

pub use bert::{BertArch, BertLayer};
pub use gcn::GcnArch;
pub use lenet::LeNetArch;
pub use linear::LinearArch;

/// Any architecture canao can build, as written in an architecture RON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Arch {
    Bert(BertArch),
    LeNet5(LeNetArch),
    Gcn(GcnArch),
    Linear(LinearArch),
}

impl Arch {
    pub fn build(&self) -> Result<Graph> {
        match self {
            Arch::Bert(a) => a.build(),
            Arch::LeNet5(a) => a.build(),
            Arch::Gcn(a) => a.build(),
            Arch::Linear(a) => a.build(),
        }
    }
}

/// Reads a RON description; `origin` (a file name) labels errors, which carry line and column.
pub fn from_ron<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    ron::from_str(text).map_err(|e| IrError::Ron {
        origin: origin.to_string(),
        detail: e.to_string(),
    })
}

/// Error for an architecture field that is out of range.
pub(crate) fn arch_err<T>(field: impl Into<String>, detail: impl Into<String>) -> Result<T> {
    Err(IrError::Arch {
        field: field.into(),
        detail: detail.into(),
    })
}

/// A BERT encoder small enough for rule tests: width 12, 3 heads of 4, FFN 20, 7 tokens.
#[cfg(test)]
pub(crate) fn tiny_bert(layers: usize) -> Graph {
    let layer = BertLayer {
        hidden: 12,
        heads: 3,
        ffn: 20,
    };
    BertArch {
        vocab: 40,
        max_positions: 40,
        type_vocab: 2,
        seq: 7,
        hidden: 12,
        head_dim: 4,
        layer_norm_eps: 1e-12,
        layers: vec![layer; layers],
    }
    .build()
    .expect("a valid architecture")
}
