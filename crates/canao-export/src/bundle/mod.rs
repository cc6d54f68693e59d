//! canao deployment bundles: a folder holding
//! - `arch.ron`: the encoder the weights fit ([`BundleArch`]: the student's shrunk architecture
//!   when there is one, with the teacher and student it came from), and how each sparse
//!   parameter is stored;
//! - `weights.safetensors`: dense parameters as they are, sparse ones compressed (see `packed`);
//! - `tokenizer.json`: the model's tokenizer;
//! - `shaders/`: the generated WGSL kernels of the model at 128 tokens and their dispatch order
//!   (see `shaders`);
//! - `manifest.json`: format and canao versions and the size and sha256 of every file above.
//!
//! Loading checks every file the manifest lists before parsing any, so a modified, truncated
//! or missing file is refused with its name. CPU kernels are not shipped as code: the CPU
//! backend specialises its kernels to the stored structures when it prepares the model.

mod manifest;
mod packed;
mod shaders;

use std::collections::BTreeMap;
use std::path::Path;

use canao_ir::builders::BertArch;
use canao_ir::{Graph, Sparsity, Weights};
use canao_models::{MiniLm, StudentArch, TextTokenizer};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::error::{ExportError, Result};

pub use manifest::{FORMAT_VERSION, MANIFEST, Manifest};
pub use packed::Stored;
pub use shaders::{SHADER_DIR, SHADER_SEQ};

pub const ARCH: &str = "arch.ron";
pub const WEIGHTS: &str = "weights.safetensors";
pub const TOKENIZER: &str = "tokenizer.json";

/// What `arch.ron` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleArch {
    /// The encoder the weights fit (sequence length 1: it runs at any length).
    pub model: BertArch,
    /// The teacher and student architecture, when the model is a student.
    #[serde(default)]
    pub origin: Option<Origin>,
    /// How each sparse parameter is stored; parameters not listed are dense.
    #[serde(default)]
    pub stored: BTreeMap<String, Stored>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub teacher: BertArch,
    pub student: StudentArch,
}

/// A loaded, verified bundle.
#[derive(Debug)]
pub struct Bundle {
    pub manifest: Manifest,
    pub arch: BundleArch,
    pub model: MiniLm,
}

fn bundle_err(file: &str, detail: impl Into<String>) -> ExportError {
    ExportError::Bundle {
        file: file.to_string(),
        detail: detail.into(),
    }
}

/// Writes `model` (named `model_name`, e.g. `minilm`) as a bundle in `dir`, through a temporary
/// folder beside it: a failure leaves nothing behind, and an existing folder is replaced only
/// when it is empty or an earlier bundle.
pub fn write_bundle(dir: &Path, model_name: &str, model: &MiniLm) -> Result<()> {
    let origin = model.origin().map(|(teacher, student)| Origin {
        teacher: teacher.clone(),
        student: student.clone(),
    });
    let (arch_text, weights_bytes) = encode(&model.graph(1)?, model.weights(), model.arch(1), origin)?;
    let tokenizer_path = model.dir().join(TOKENIZER);
    let tokenizer = std::fs::read(&tokenizer_path).map_err(|cause| ExportError::Read {
        path: tokenizer_path,
        cause,
    })?;
    let mut files: BTreeMap<String, Vec<u8>> = [
        (ARCH.to_string(), arch_text.into_bytes()),
        (WEIGHTS.to_string(), weights_bytes),
        (TOKENIZER.to_string(), tokenizer),
    ]
    .into();
    files.extend(shaders::shader_files(model)?);
    let manifest = Manifest::new(model_name, &files);
    let manifest_text = serde_json::to_string_pretty(&manifest).map_err(|e| bundle_err(MANIFEST, e.to_string()))?;
    atomic::write_dir(dir, MANIFEST, |tmp| {
        std::fs::create_dir(tmp.join(SHADER_DIR)).map_err(|cause| ExportError::Write {
            path: dir.join(SHADER_DIR),
            cause,
        })?;
        for (name, bytes) in &files {
            std::fs::write(tmp.join(name), bytes).map_err(|cause| ExportError::Write {
                path: dir.join(name),
                cause,
            })?;
        }
        std::fs::write(tmp.join(MANIFEST), manifest_text).map_err(|cause| ExportError::Write {
            path: dir.join(MANIFEST),
            cause,
        })
    })
}

/// Loads a bundle, checking each file against the manifest first.
pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let manifest = Manifest::read(dir)?;
    for name in manifest.files.keys() {
        manifest.verified(dir, name)?;
    }
    let arch_text = String::from_utf8(manifest.verified(dir, ARCH)?).map_err(|e| bundle_err(ARCH, e.to_string()))?;
    let Decoded {
        arch,
        weights,
        sparsity,
    } = decode(&arch_text, &manifest.verified(dir, WEIGHTS)?)?;
    manifest.verified(dir, TOKENIZER)?;
    let tokenizer = TextTokenizer::from_file(&dir.join(TOKENIZER))?;
    let origin = arch.origin.clone().map(|o| (o.teacher, o.student));
    let mut model = MiniLm::from_parts(dir, arch.model.clone(), tokenizer, weights, origin)?;
    for (name, s) in sparsity {
        model.set_sparsity(&name, s)?;
    }
    Ok(Bundle { manifest, arch, model })
}

/// The `arch.ron` text and weights file bytes of a model (`graph` at any length, with its
/// sparsity; `model` its architecture): what [`decode`] reads back.
pub fn encode(graph: &Graph, weights: &Weights, model: BertArch, origin: Option<Origin>) -> Result<(String, Vec<u8>)> {
    let mut tensors = BTreeMap::new();
    let mut stored = BTreeMap::new();
    for (name, spec) in graph.params() {
        let w = weights.dense(name)?;
        match packed::pack(name, w, &spec.sparsity)? {
            None => {
                tensors.insert(name.clone(), packed::raw_f32(w.shape().to_vec(), w.data()));
            }
            Some((how, parts)) => {
                stored.insert(name.clone(), how);
                tensors.extend(parts);
            }
        }
    }
    let arch = BundleArch { model, origin, stored };
    let arch_text = ron::ser::to_string_pretty(&arch, ron::ser::PrettyConfig::default())
        .map_err(|e| bundle_err(ARCH, e.to_string()))?;
    Ok((arch_text, packed::serialize(WEIGHTS, &tensors)?))
}

/// A bundle's model as its `arch.ron` and weights file describe it.
#[derive(Debug)]
pub struct Decoded {
    pub arch: BundleArch,
    pub weights: Weights,
    pub sparsity: BTreeMap<String, Sparsity>,
}

/// Decodes the text of `arch.ron` and the bytes of the weights file, checking that every
/// parameter is stored once, in the shape and format the architecture says.
pub fn decode(arch_text: &str, weights_bytes: &[u8]) -> Result<Decoded> {
    let arch: BundleArch = ron::from_str(arch_text).map_err(|e| bundle_err(ARCH, e.to_string()))?;
    let graph = arch
        .model
        .with_seq(1)
        .build()
        .map_err(|e| bundle_err(ARCH, e.to_string()))?;
    if let Some(p) = arch.stored.keys().find(|p| graph.param(p).is_none()) {
        return Err(bundle_err(
            ARCH,
            format!("stores parameter @{p}, which the model does not have"),
        ));
    }
    let st = SafeTensors::deserialize(weights_bytes).map_err(|e| bundle_err(WEIGHTS, e.to_string()))?;
    let reader = packed::Reader { file: WEIGHTS, st: &st };
    let mut weights = Weights::new();
    let mut sparsity = BTreeMap::new();
    for (name, spec) in graph.params() {
        let (t, s) = reader.unpack(name, &spec.shape, arch.stored.get(name))?;
        weights.insert_dense(name.clone(), t);
        if !s.is_dense() {
            sparsity.insert(name.clone(), s);
        }
    }
    let expected = weights.len() + arch.stored.values().map(parts_of).sum::<usize>() - arch.stored.len();
    if st.len() != expected {
        let known = |t: &str| weights.get(t).is_some() || arch.stored.keys().any(|p| t.starts_with(&format!("{p}.")));
        let extra = st
            .names()
            .into_iter()
            .find(|t| !known(t))
            .map_or_else(String::new, |t| format!(" (`{t}`)"));
        return Err(bundle_err(
            WEIGHTS,
            format!("holds tensors the model does not use{extra}"),
        ));
    }
    Ok(Decoded {
        arch,
        weights,
        sparsity,
    })
}

/// Tensors a stored sparse parameter occupies.
fn parts_of(s: &Stored) -> usize {
    match s {
        Stored::Block { .. } => 2,
        Stored::Pattern { .. } => 3,
        Stored::Circulant { .. } => 1,
    }
}
