//! What a trained run folder holds a model of (`model.ron`): enough to rebuild its IR graph and
//! its burn module from `weights.safetensors`, and to name its outputs.

use std::path::Path;

use canao_ir::builders::{BertArch, LeNetArch};
use canao_ir::{Graph, Weights};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError, io};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelSpec {
    /// A BERT-family encoder with a classification head (`BertArch::build_classifier`).
    BertClassifier {
        arch: BertArch,
        labels: Vec<String>,
    },
    LeNet {
        arch: LeNetArch,
        labels: Vec<String>,
    },
}

impl ModelSpec {
    pub fn labels(&self) -> &[String] {
        match self {
            ModelSpec::BertClassifier { labels, .. } | ModelSpec::LeNet { labels, .. } => labels,
        }
    }

    /// The IR graph of the model (BERT at `seq` tokens); `seq` is ignored for LeNet.
    pub fn graph(&self, seq: usize) -> Result<Graph> {
        Ok(match self {
            ModelSpec::BertClassifier { arch, labels } => arch.with_seq(seq).build_classifier(labels.len())?,
            ModelSpec::LeNet { arch, .. } => arch.build()?,
        })
    }

    /// Checks `weights` bind to the model's graph exactly.
    pub fn check(&self, weights: &Weights) -> Result<()> {
        weights.check_against(&self.graph(1)?)?;
        Ok(())
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default()).expect("specs serialise");
        let tmp = path.with_extension("ron.tmp");
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        ron::from_str(&text).map_err(|e| TrainError::Data {
            file: path.to_path_buf(),
            detail: format!("not a model description: {e}"),
        })
    }
}
