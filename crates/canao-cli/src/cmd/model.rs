//! Resolving `--model NAME` / `--arch FILE` to an architecture, shared by subcommands.

use std::path::Path;

use anyhow::{Context, Result, bail};
use canao_calibrate::Workload;
use canao_ir::Graph;
use canao_ir::builders::{Arch, BertArch, from_ron};
use canao_models::StudentArch;
use serde::{Deserialize, Serialize};

/// Tokens per sequence when neither `--seq` nor the architecture file gives one.
pub const DEFAULT_SEQ: usize = 128;

/// Models known by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    Minilm,
    Lenet5,
}

/// An architecture file: a student of MiniLM (`archs/minilm-student.ron`) or any `Arch`.
#[derive(Debug, Clone)]
pub enum ArchFile {
    Student(StudentArch),
    Arch(Arch),
}

impl ArchFile {
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let origin = path.display().to_string();
        match from_ron::<StudentArch>(&text, &origin) {
            Ok(s) => Ok(Self::Student(s)),
            Err(student_err) => from_ron::<Arch>(&text, &origin).map(Self::Arch).map_err(|arch_err| {
                anyhow::anyhow!("{origin} is neither a student of MiniLM ({student_err}) nor an Arch ({arch_err})")
            }),
        }
    }

    /// The architecture at `seq` tokens when given, else at the file's own `seq` (a student's
    /// default is [`DEFAULT_SEQ`]). A length over the model's positions is refused when built.
    pub fn at_seq(&self, seq: Option<usize>) -> Result<(Arch, Option<&StudentArch>)> {
        match self {
            Self::Student(s) => {
                let seq = seq.unwrap_or(DEFAULT_SEQ);
                Ok((Arch::Bert(s.bert(&BertArch::minilm(seq), seq)?), Some(s)))
            }
            Self::Arch(Arch::Bert(b)) => Ok((Arch::Bert(seq.map_or_else(|| b.clone(), |s| b.with_seq(s))), None)),
            Self::Arch(other) => match seq {
                Some(_) => bail!("--seq applies to BERT-family architectures only"),
                None => Ok((other.clone(), None)),
            },
        }
    }

    /// The graph with random weights (a student's block masks then random at its density).
    pub fn workload(&self, origin: &str, seq: Option<usize>) -> Result<Workload> {
        if let Self::Student(s) = self {
            let seq = seq.unwrap_or(DEFAULT_SEQ);
            return Ok(Workload::student(
                origin.to_string(),
                &BertArch::minilm(seq),
                s,
                seq,
                0,
            )?);
        }
        let (arch, _) = self.at_seq(seq)?;
        let vocab = match &arch {
            Arch::Bert(b) => b.vocab,
            _ => 1,
        };
        Ok(Workload::new(origin.to_string(), arch.build()?, vocab, 0))
    }
}

/// The graph of a named model (MiniLM when neither is given) or of an architecture file, at
/// `seq` tokens for BERTs (see [`ArchFile::at_seq`]).
pub fn graph(model: Option<ModelKind>, arch: Option<&Path>, seq: Option<usize>) -> Result<Graph> {
    match (model, arch) {
        (Some(_), Some(_)) => bail!("give either --model or --arch, not both"),
        (None, Some(path)) => Ok(ArchFile::read(path)?.workload(&path.display().to_string(), seq)?.graph),
        (Some(ModelKind::Minilm) | None, None) => Ok(Arch::Bert(BertArch::minilm(seq.unwrap_or(DEFAULT_SEQ))).build()?),
        (Some(ModelKind::Lenet5), None) => match seq {
            Some(_) => bail!("--seq applies to BERT-family models only"),
            None => Ok(Arch::LeNet5(Default::default()).build()?),
        },
    }
}
