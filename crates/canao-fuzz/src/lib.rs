//! The parsers of everything a user hands canao, each as a function of arbitrary bytes that must
//! return (a value or a typed error) and never panic, hang or allocate without bound. `fuzz/`
//! runs them under libFuzzer (`scripts/fuzz.sh`); `tests/corpora.rs` replays the committed
//! corpora and every crash found so far through them as ordinary tests.
//!
//! A target reads what it parses the way canao does, then uses the result as canao would next
//! (builds the graph, samples the space, predicts with the profile), so a value that parses but
//! breaks what follows is found too.

mod files;
mod models;
mod text;

pub use files::{bundle, gnn, safetensors, search_log, tiny_bert};
pub use models::{arch, profile, space};
pub use text::ir_text;

/// A fuzz target: parses any bytes, panicking only on a bug.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/` and `fuzz/corpus/` name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("space", space),
    ("profile", profile),
    ("arch", arch),
    ("ir_text", ir_text),
    ("safetensors", safetensors),
    ("bundle", bundle),
    ("search_log", search_log),
    ("gnn", gnn),
];

/// The input as text, as canao reads RON and JSON files (invalid UTF-8 is refused by the
/// reader before any parser sees it).
fn utf8(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
