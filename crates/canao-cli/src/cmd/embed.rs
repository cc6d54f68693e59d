use anyhow::{Result, bail};
use canao_interp::Interpreter;
use canao_ir::Schedule;
use canao_nn::{LengthPolicy, MiniLm, assets};
use serde_json::json;

/// The published quick-start sentences of all-MiniLM-L6-v2, used when no text is given.
pub const DEFAULT_SENTENCES: [&str; 3] =
    ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Texts to embed (default: three quick-start sentences).
    texts: Vec<String>,
    /// Model to use (only minilm for now).
    #[arg(long, default_value = "minilm")]
    model: String,
    /// Backend: interp (the reference interpreter).
    #[arg(long, default_value = "interp")]
    backend: String,
    /// Cut texts longer than the model's 512 positions instead of refusing them.
    #[arg(long)]
    truncate: bool,
    /// Print {"embeddings": [[...]], "similarity": [[...]]}.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<()> {
    if a.model != "minilm" {
        bail!("unknown model `{}`; embed supports: minilm", a.model);
    }
    if a.backend != "interp" {
        bail!("unknown backend `{}`; available: interp", a.backend);
    }
    let texts: Vec<String> =
        if a.texts.is_empty() { DEFAULT_SENTENCES.iter().map(|s| s.to_string()).collect() } else { a.texts };
    let model = MiniLm::from_cache(&assets::canao_home(), &mut |line| eprintln!("{line}"))?;
    let policy = if a.truncate { LengthPolicy::Truncate } else { LengthPolicy::Refuse };
    let emb = model.embed(&Interpreter, &Schedule::default(), &texts, policy)?;
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
