//! Models and data: the asset cache, the tokenizer, MiniLM's weights bound to the IR, and
//! sentence embeddings.

pub mod assets;
