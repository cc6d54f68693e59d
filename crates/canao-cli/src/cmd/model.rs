//! Resolving `--model NAME` / `--arch FILE` to an architecture, shared by subcommands.

use std::path::Path;

use anyhow::{Context, Result, bail};
use canao_ir::Graph;
use canao_ir::builders::{Arch, BertArch, from_ron};
use serde::{Deserialize, Serialize};

/// Models known by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Minilm,
    Lenet5,
}

/// The architecture of a named model (MiniLM when neither is given) or an architecture RON
/// file, at `seq` tokens for BERTs.
pub fn resolve(model: Option<ModelKind>, arch: Option<&Path>, seq: usize) -> Result<Arch> {
    match (model, arch) {
        (Some(_), Some(_)) => bail!("give either --model or --arch, not both"),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let arch: Arch = from_ron(&text, &path.display().to_string())?;
            Ok(match arch {
                Arch::Bert(b) => Arch::Bert(b.with_seq(seq)),
                other => other,
            })
        }
        (Some(ModelKind::Minilm) | None, None) => Ok(Arch::Bert(BertArch::minilm(seq))),
        (Some(ModelKind::Lenet5), None) => Ok(Arch::LeNet5(Default::default())),
    }
}

pub fn build(arch: &Arch) -> Result<Graph> {
    Ok(arch.build()?)
}
