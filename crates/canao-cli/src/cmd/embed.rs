use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use canao_models::{LengthPolicy, MiniLm};
use serde_json::json;

use crate::cmd::backend::{self, Backend, ModelArgs, parse_threads};

/// The published quick-start sentences of all-MiniLM-L6-v2, used when no text is given.
pub const DEFAULT_SENTENCES: [&str; 3] = [
    "The weather is lovely today.",
    "It's so sunny outside!",
    "He drove to the stadium.",
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Texts to embed (default: three quick-start sentences).
    pub texts: Vec<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Run a deployment bundle (from `canao export --format bundle`) instead of --model; every
    /// file is checked against the bundle's manifest first.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["arch", "sparsity"])]
    pub bundle: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub backend: Backend,
    /// Worker threads for the CPU backend.
    #[arg(long, default_value_t = 1, value_parser = parse_threads)]
    pub threads: usize,
    /// Cut texts longer than the model's 512 positions instead of refusing them.
    #[arg(long)]
    pub truncate: bool,
    /// Print {"embeddings": [[...]], "similarity": [[...]]}.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    pub fn texts(&self) -> Vec<String> {
        if self.texts.is_empty() {
            DEFAULT_SENTENCES.iter().map(|s| s.to_string()).collect()
        } else {
            self.texts.clone()
        }
    }

    /// The bundle when one is given, else the model as `--model`, `--arch` and `--sparsity` say.
    pub fn load_model(&self) -> Result<MiniLm> {
        if self.bundle.is_some() && self.model.weights.is_some() {
            bail!("give either --bundle or --weights, not both");
        }
        match &self.bundle {
            Some(dir) => Ok(canao_export::load_bundle(dir)
                .with_context(|| format!("loading bundle {}", dir.display()))?
                .model),
            None => self.model.load(),
        }
    }

    pub fn policy(&self) -> LengthPolicy {
        if self.truncate {
            LengthPolicy::Truncate
        } else {
            LengthPolicy::Refuse
        }
    }
}

pub fn run(a: Args) -> Result<()> {
    let texts = a.texts();
    let model = a.load_model()?;
    let emb = backend::embed(&model, a.backend, a.threads, &texts, a.policy())?;
    let sim = emb.similarity();
    if a.json {
        println!("{}", json!({"embeddings": emb.vectors, "similarity": sim}));
        return Ok(());
    }
    for (i, (t, n)) in texts.iter().zip(&emb.tokens).enumerate() {
        println!("[{}] ({n} tokens) {t}", i + 1);
    }
    print!("{:>6}", "");
    for j in 0..texts.len() {
        print!("{:>8}", format!("[{}]", j + 1));
    }
    println!();
    for (i, row) in sim.iter().enumerate() {
        print!("{:>6}", format!("[{}]", i + 1));
        for v in row {
            print!("{v:>8.3}");
        }
        println!();
    }
    Ok(())
}
