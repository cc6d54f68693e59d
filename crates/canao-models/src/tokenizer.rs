use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use crate::error::{NnError, Result};

/// What to do with a text longer than the model's positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthPolicy {
    Refuse,
    Truncate,
}

/// One tokenised text: ids and segment ids (the attention mask is all ones, since each text
/// runs on its own at its own length).
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
}

/// A WordPiece tokenizer from `tokenizer.json`, with its built-in padding and truncation (to
/// 128 in MiniLM's file) turned off, so length is decided here and explicitly.
#[derive(Debug, Clone)]
pub struct TextTokenizer {
    file: PathBuf,
    inner: Tokenizer,
}

impl TextTokenizer {
    pub fn from_file(file: &Path) -> Result<Self> {
        let err = |detail: String| NnError::Tokenizer {
            file: file.to_path_buf(),
            detail,
        };
        let mut inner = Tokenizer::from_file(file).map_err(|e| err(e.to_string()))?;
        inner.with_padding(None);
        inner.with_truncation(None).map_err(|e| err(e.to_string()))?;
        Ok(Self {
            file: file.to_path_buf(),
            inner,
        })
    }

    /// Tokenises with the [CLS] ... [SEP] template; `index` labels a too-long error. With
    /// `Truncate`, the text is cut to `max` tokens keeping the closing [SEP].
    pub fn encode(&self, text: &str, index: usize, max: usize, policy: LengthPolicy) -> Result<Encoded> {
        let enc = self.inner.encode(text, true).map_err(|e| NnError::Tokenizer {
            file: self.file.clone(),
            detail: e.to_string(),
        })?;
        let mut ids = enc.get_ids().to_vec();
        let mut type_ids = enc.get_type_ids().to_vec();
        if ids.len() > max {
            match policy {
                LengthPolicy::Refuse => {
                    return Err(NnError::TooLong {
                        index,
                        tokens: ids.len(),
                        max,
                    });
                }
                LengthPolicy::Truncate => {
                    let sep = *ids.last().expect("longer than max, so not empty");
                    ids.truncate(max);
                    type_ids.truncate(max);
                    ids[max - 1] = sep;
                }
            }
        }
        Ok(Encoded { ids, type_ids })
    }
}
