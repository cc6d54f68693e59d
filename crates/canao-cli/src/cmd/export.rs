//! `canao export`: a model (optionally a student of it, optionally pruned) as an ONNX file or
//! a canao deployment bundle.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use canao_export::{BERT_OUTPUTS, bundle, minilm_to_onnx, report, to_onnx, write_bundle, write_onnx};
use serde_json::json;

use crate::cmd::backend::{ModelArgs, read_student};
use crate::cmd::trained::TrainedBert;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// ONNX (opset 17), inputs input_ids and attention_mask, dynamic batch and seq axes.
    Onnx,
    /// A folder with arch.ron, compressed weights, tokenizer.json and a sha256 manifest.
    Bundle,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Export the best architecture of a search report (its `best.arch`) instead of --arch.
    #[arg(long, value_name = "REPORT.json", conflicts_with = "arch")]
    pub from: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub format: Format,
    /// The file (onnx) or folder (bundle) to write; written whole or not at all.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace --out when it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: Args) -> Result<()> {
    if a.out.exists() && !a.force {
        bail!("{} exists; pass --force to replace it", a.out.display());
    }
    let student = match (&a.from, &a.model.arch) {
        (Some(r), _) => Some(report::best_arch(r)?),
        (None, Some(path)) => Some(read_student(path)?),
        (None, None) => None,
    };
    let model = a.model.load_with(student.as_ref())?;
    let trained = a.model.weights.as_deref().map(TrainedBert::load).transpose()?;
    let what = match (a.format, &trained) {
        (Format::Onnx, Some(t)) => {
            // A trained classifier: the encoder's outputs and the head's logits [batch, classes].
            let [hidden, sentence] = BERT_OUTPUTS;
            write_onnx(
                &a.out,
                &to_onnx(&t.classifier(1)?, &t.weights, &[hidden, sentence, "logits"])?,
            )?;
            "onnx"
        }
        (Format::Onnx, None) => {
            write_onnx(&a.out, &minilm_to_onnx(&model)?)?;
            "onnx"
        }
        (Format::Bundle, _) => {
            // The bundle format carries an encoder: a trained model's head is not in it.
            write_bundle(&a.out, &a.model.model, &model)?;
            "bundle"
        }
    };
    let bytes = match a.format {
        Format::Onnx => std::fs::metadata(&a.out)?.len(),
        Format::Bundle => bundle::Manifest::read(&a.out)?.files.values().map(|f| f.bytes).sum(),
    };
    let arch = model.arch(1);
    let out = json!({
        "format": what,
        "out": a.out.display().to_string(),
        "bytes": bytes,
        "layers": arch.layers.len(),
        "heads": arch.layers.iter().map(|l| l.heads).collect::<Vec<_>>(),
        "ffn": arch.layers.iter().map(|l| l.ffn).collect::<Vec<_>>(),
        "params": model.graph(1).context("building the exported graph")?.cost().params,
    });
    println!("{out}");
    Ok(())
}
