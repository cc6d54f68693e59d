//! Export: ONNX files that other runtimes load, and canao's own deployment bundles.
//!
//! - [`onnx`]: the IR graph as ONNX (opset 17) with weights as initializers and dynamic `batch`
//!   and `seq` axes. Structured-sparse weights are stored dense with their zeros so that any
//!   runtime loads them; removed layers, heads and neurons are absent (smaller matrices).
//! - [`bundle`]: a folder with the architecture, the weights in compressed form, the tokenizer
//!   and a manifest of sha256 sums that the loader checks before using anything.
//! - [`report`]: the best architecture of a search report, to export it.

mod atomic;
pub mod bundle;
mod error;
pub mod onnx;
pub mod report;

pub use bundle::{Bundle, BundleArch, Origin, load_bundle, write_bundle};
pub use error::{ExportError, Result};
pub use onnx::{BERT_OUTPUTS, OPSET, encode, minilm_to_onnx, to_onnx, write_onnx};
