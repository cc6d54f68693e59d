use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use canao_ir::builders::{BertArch, BertLayer};
use canao_ir::pass::Pipeline;
use canao_ir::{Executable, Graph, Runtime, Schedule, Sparsity, Weights};
use canao_tensor::{SafetensorsFile, Tensor};
use serde::Deserialize;

use crate::assets;
use crate::binding::bind_bert_weights;
use crate::embed::Embeddings;
use crate::error::{NnError, Result};
use crate::inherit::inherit;
use crate::student::StudentArch;
use crate::tokenizer::{Encoded, LengthPolicy, TextTokenizer};

/// The fields of a Hugging Face BERT `config.json` that decide the architecture.
#[derive(Debug, Deserialize)]
struct HfConfig {
    model_type: String,
    hidden_act: String,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    type_vocab_size: usize,
    layer_norm_eps: f32,
}

/// all-MiniLM-L6-v2 (or any BERT checkpoint laid out the same way): its architecture, tokenizer
/// and weights bound to canao's parameter names.
#[derive(Debug)]
pub struct MiniLm {
    dir: PathBuf,
    arch: BertArch,
    tokenizer: TextTokenizer,
    weights: Weights,
    /// Structures imposed on parameters (compression results), applied to every graph built.
    sparsity: BTreeMap<String, Sparsity>,
    /// For a student: the teacher's architecture and the student's description.
    origin: Option<(BertArch, StudentArch)>,
}

impl MiniLm {
    /// Loads from the asset cache, fetching the model when it is missing.
    pub fn from_cache(home: &Path, progress: &mut dyn FnMut(&str)) -> Result<Self> {
        let dir = assets::ensure(home, assets::Asset::Minilm, progress)?;
        Self::load(&dir)
    }

    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from a folder.
    pub fn load(dir: &Path) -> Result<Self> {
        let arch = read_arch(&dir.join("config.json"))?;
        let tokenizer = TextTokenizer::from_file(&dir.join("tokenizer.json"))?;
        let file = SafetensorsFile::open(&dir.join("model.safetensors"))?;
        // Parameters do not depend on the sequence length; bind against a one-token graph.
        let weights = bind_bert_weights(&arch.with_seq(1).build()?, &file)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            arch,
            tokenizer,
            weights,
            sparsity: BTreeMap::new(),
            origin: None,
        })
    }

    /// A model from parts already in memory (a deployment bundle); the weights must fit `arch`.
    /// `origin` is the teacher and student description when the model is a student.
    pub fn from_parts(
        dir: &Path,
        arch: BertArch,
        tokenizer: TextTokenizer,
        weights: Weights,
        origin: Option<(BertArch, StudentArch)>,
    ) -> Result<Self> {
        weights.check_against(&arch.with_seq(1).build()?)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            arch: arch.with_seq(1),
            tokenizer,
            weights,
            sparsity: BTreeMap::new(),
            origin,
        })
    }

    /// The student `student` of this model: inherited weights (see [`crate::inherit`]) and the
    /// student's block masks. Sparsity imposed on this model is not carried over: the student's
    /// parameters are different matrices.
    pub fn student(&self, student: &StudentArch) -> Result<Self> {
        let weights = inherit(&self.weights, &self.arch, student)?;
        let mut model = Self {
            dir: self.dir.clone(),
            arch: student.bert(&self.arch, 1)?,
            tokenizer: self.tokenizer.clone(),
            weights,
            sparsity: BTreeMap::new(),
            origin: Some((self.arch.clone(), student.clone())),
        };
        for (param, s) in student.masks(&model.weights)? {
            model.set_sparsity(&param, s)?;
        }
        Ok(model)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// For a student made by [`Self::student`]: its teacher's architecture and description.
    pub fn origin(&self) -> Option<&(BertArch, StudentArch)> {
        self.origin.as_ref()
    }

    /// The architecture at a given sequence length.
    pub fn arch(&self, seq: usize) -> BertArch {
        self.arch.with_seq(seq)
    }

    pub fn max_positions(&self) -> usize {
        self.arch.max_positions
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The encoder's linear-layer weights: what structured pruning applies to.
    pub fn prunable(&self) -> Vec<String> {
        prunable(&self.weights)
    }

    /// Imposes a structure on a parameter (checked against its shape).
    pub fn set_sparsity(&mut self, param: &str, sparsity: Sparsity) -> Result<()> {
        let t = self.weights.dense(param)?;
        sparsity.validate(param, t.shape())?;
        self.sparsity.insert(param.to_string(), sparsity);
        Ok(())
    }

    /// The encoder graph at `seq` tokens with the imposed sparsity, after the standard passes.
    pub fn graph(&self, seq: usize) -> Result<Graph> {
        let mut g = self.arch(seq).build()?;
        for (p, s) in &self.sparsity {
            g.set_sparsity(p, s.clone())?;
        }
        Pipeline::standard().run(&mut g)?;
        Ok(g)
    }

    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    pub fn tokenize(&self, texts: &[String], policy: LengthPolicy) -> Result<Vec<Encoded>> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| self.tokenizer.encode(t, i, self.arch.max_positions, policy))
            .collect()
    }

    /// The graph inputs for one tokenised text.
    pub fn inputs(enc: &Encoded) -> Result<BTreeMap<String, Tensor>> {
        Self::inputs_padded(enc, enc.ids.len())
    }

    /// The graph inputs for one text padded to `len` tokens ([PAD] = 0, masked out), so texts of
    /// different lengths can share one executable; the outputs at the text's own positions and
    /// the sentence embedding are those of the unpadded text.
    pub fn inputs_padded(enc: &Encoded, len: usize) -> Result<BTreeMap<String, Tensor>> {
        let n = enc.ids.len();
        if len < n {
            return Err(NnError::Padding { tokens: n, len });
        }
        let padded = |v: &[u32]| {
            let mut out: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            out.resize(len, 0.0);
            out
        };
        let mut mask = vec![1.0; n];
        mask.resize(len, 0.0);
        let mut m = BTreeMap::new();
        m.insert("input_ids".to_string(), Tensor::new(vec![len], padded(&enc.ids))?);
        m.insert(
            "token_type_ids".to_string(),
            Tensor::new(vec![len], padded(&enc.type_ids))?,
        );
        m.insert("attention_mask".to_string(), Tensor::new(vec![len], mask)?);
        Ok(m)
    }

    /// Sentence embeddings (masked mean of the last hidden states, L2-normalised) of each text,
    /// each run at its own length on `runtime`. Executables are reused across equal lengths.
    pub fn embed<R: Runtime>(
        &self,
        runtime: &R,
        schedule: &Schedule,
        texts: &[String],
        policy: LengthPolicy,
    ) -> Result<Embeddings> {
        let encoded = self.tokenize(texts, policy)?;
        let mut exes: BTreeMap<usize, R::Exe> = BTreeMap::new();
        let mut vectors = Vec::with_capacity(texts.len());
        let mut hidden = Vec::with_capacity(texts.len());
        let mut ms = Vec::with_capacity(texts.len());
        for enc in &encoded {
            let seq = enc.ids.len();
            let exe = match exes.entry(seq) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => e.insert(
                    runtime
                        .prepare(&self.graph(seq)?, &self.weights, schedule)
                        .map_err(|e| NnError::Backend(e.to_string()))?,
                ),
            };
            let inputs = Self::inputs(enc)?;
            let start = std::time::Instant::now();
            let mut out = exe.run(&inputs).map_err(|e| NnError::Backend(e.to_string()))?;
            ms.push(start.elapsed().as_secs_f64() * 1e3);
            let sentence = out.pop().expect("BERT graphs have two outputs");
            vectors.push(sentence.into_data());
            hidden.push(out.pop().expect("BERT graphs have two outputs"));
        }
        Ok(Embeddings {
            vectors,
            hidden,
            tokens: encoded.iter().map(|e| e.ids.len()).collect(),
            ms,
        })
    }
}

fn read_arch(path: &Path) -> Result<BertArch> {
    let err = |detail: String| NnError::Config {
        file: path.to_path_buf(),
        detail,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let c: HfConfig = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    if c.model_type != "bert" {
        return Err(err(format!(
            "model_type is `{}`, only `bert` is supported",
            c.model_type
        )));
    }
    if c.hidden_act != "gelu" {
        return Err(err(format!(
            "hidden_act is `{}`, only `gelu` is supported",
            c.hidden_act
        )));
    }
    if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
        return Err(err(format!(
            "hidden_size {} does not split into {} heads",
            c.hidden_size, c.num_attention_heads
        )));
    }
    let arch = BertArch {
        vocab: c.vocab_size,
        max_positions: c.max_position_embeddings,
        type_vocab: c.type_vocab_size,
        seq: 1,
        hidden: c.hidden_size,
        head_dim: c.hidden_size / c.num_attention_heads,
        layer_norm_eps: c.layer_norm_eps,
        layers: vec![
            BertLayer {
                hidden: c.hidden_size,
                heads: c.num_attention_heads,
                ffn: c.intermediate_size
            };
            c.num_hidden_layers
        ],
    };
    arch.validate().map_err(|e| err(e.to_string()))?;
    Ok(arch)
}

/// The encoder's linear-layer weights among `weights` (BERT parameter names): what structured
/// pruning applies to.
pub fn prunable(weights: &Weights) -> Vec<String> {
    weights
        .iter()
        .map(|(name, _)| name)
        .filter(|n| n.starts_with("enc.") && n.ends_with(".w") && !n.contains(".ln."))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Padding masks the added positions out; asking to pad to fewer tokens is an error.
    #[test]
    fn padding_lengthens_and_refuses_to_shorten() {
        let enc = Encoded {
            ids: vec![101, 7, 102],
            type_ids: vec![0; 3],
        };
        let m = MiniLm::inputs_padded(&enc, 5).unwrap();
        assert_eq!(m["input_ids"].data(), &[101.0, 7.0, 102.0, 0.0, 0.0]);
        assert_eq!(m["attention_mask"].data(), &[1.0, 1.0, 1.0, 0.0, 0.0]);
        let err = MiniLm::inputs_padded(&enc, 2).unwrap_err().to_string();
        assert!(err.contains("3 tokens to 2"), "{err}");
    }
}
