use anyhow::Result;
use serde_json::json;

use crate::cmd::backend;
use crate::cmd::embed;
use crate::cmd::trained::TrainedBert;

/// `canao run`: the same inputs and model options as `embed`, printing one JSON object with the
/// configuration, per-text token counts and forward-pass times, embeddings and similarities.
pub fn run(a: embed::Args) -> Result<()> {
    let texts = a.texts();
    let model = a.load_model()?;
    let emb = backend::embed(&model, a.backend, a.threads, &texts, a.policy())?;
    let mut out = json!({
        "model": a.model.model,
        "bundle": a.bundle.as_ref().map(|d| d.display().to_string()),
        "arch": a.model.arch.as_ref().map(|p| p.display().to_string()),
        "backend": a.backend.name(),
        "threads": a.threads,
        // A bundle's structure is in its own files, not on the command line.
        "sparsity": a.bundle.is_none().then(|| a.model.sparsity.unwrap_or(0.0)),
        "block": a.model.block_label(),
        "tokens": emb.tokens,
        "ms": emb.ms,
        "embeddings": emb.vectors,
        "similarity": emb.similarity(),
    });
    if let Some(dir) = &a.model.weights {
        // A trained classifier: each text's logits and predicted label, from its head.
        let trained = TrainedBert::load(dir)?;
        let encoded = model.tokenize(&texts, a.policy())?;
        let logits = backend::classify(&trained, a.backend, a.threads, &encoded)?;
        let predicted: Vec<&str> = logits
            .iter()
            .map(|l| {
                let best = (0..l.len()).max_by(|&i, &j| l[i].total_cmp(&l[j])).unwrap_or(0);
                trained.labels[best].as_str()
            })
            .collect();
        out["weights"] = json!(dir.display().to_string());
        out["labels"] = json!(trained.labels);
        out["logits"] = json!(logits);
        out["predicted"] = json!(predicted);
    }
    println!("{out}");
    Ok(())
}
