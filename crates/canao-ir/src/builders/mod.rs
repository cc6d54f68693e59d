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
