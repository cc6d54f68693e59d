//! Models and data: the asset cache, the tokenizer, MiniLM's weights bound to the IR, and
//! sentence embeddings.

pub mod assets;
mod binding;
mod embed;
mod error;
mod inherit;
mod minilm;
mod reviews;
mod student;
mod tokenizer;

pub use binding::{bind_bert_weights, hf_name};
pub use embed::{Embeddings, cosine_matrix};
pub use error::{NnError, Result};
pub use inherit::inherit;
pub use minilm::{MiniLm, prunable};
pub use reviews::{CORPUS_FILE, Review, load_reviews, reviews_from_cache};
pub use student::{LAYER_WEIGHTS, StudentArch, StudentLayer};
pub use tokenizer::{Encoded, LengthPolicy, TextTokenizer};
