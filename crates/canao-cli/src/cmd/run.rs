use anyhow::Result;
use serde_json::json;

use crate::cmd::backend;
use crate::cmd::embed;

/// `canao run`: the same inputs and model options as `embed`, printing one JSON object with the
/// configuration, per-text token counts and forward-pass times, embeddings and similarities.
pub fn run(a: embed::Args) -> Result<()> {
    let texts = a.texts();
    let model = a.model.load()?;
    let emb = backend::embed(&model, a.backend, a.threads, &texts, a.policy())?;
    let out = json!({
        "model": a.model.model,
        "backend": a.backend.name(),
        "threads": a.threads,
        "sparsity": a.model.sparsity.unwrap_or(0.0),
        "block": a.model.block_label(),
        "tokens": emb.tokens,
        "ms": emb.ms,
        "embeddings": emb.vectors,
        "similarity": emb.similarity(),
    });
    println!("{out}");
    Ok(())
}
