use serde::{Deserialize, Serialize};

use crate::builders::arch_err;
use crate::dtype::TensorType;
use crate::error::Result;
use crate::graph::{Graph, NodeId, ParamSpec};
use crate::op::{Activation, Op};

/// A BERT-family encoder. Per layer: the residual width it works at, its attention heads (each
/// `head_dim` wide) and its FFN width. When a layer's width differs from the one before it, a
/// linear projection `enc.{i}.proj` maps between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BertArch {
    pub vocab: usize,
    pub max_positions: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab: usize,
    /// Tokens per sequence the graph is built for (batch 1).
    pub seq: usize,
    /// Width of the embeddings.
    pub hidden: usize,
    pub head_dim: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f32,
    pub layers: Vec<BertLayer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BertLayer {
    pub hidden: usize,
    pub heads: usize,
    pub ffn: usize,
}

fn default_type_vocab() -> usize {
    2
}

fn default_eps() -> f32 {
    1e-12
}

impl BertArch {
    /// all-MiniLM-L6-v2: 6 layers, width 384, 12 heads of 32, FFN 1536.
    pub fn minilm(seq: usize) -> Self {
        Self {
            vocab: 30522,
            max_positions: 512,
            type_vocab: 2,
            seq,
            hidden: 384,
            head_dim: 32,
            layer_norm_eps: 1e-12,
            layers: vec![
                BertLayer {
                    hidden: 384,
                    heads: 12,
                    ffn: 1536
                };
                6
            ],
        }
    }

    /// The same architecture at another sequence length.
    pub fn with_seq(&self, seq: usize) -> Self {
        Self { seq, ..self.clone() }
    }

    pub fn validate(&self) -> Result<()> {
        for (field, v) in [
            ("vocab", self.vocab),
            ("hidden", self.hidden),
            ("head_dim", self.head_dim),
            ("seq", self.seq),
        ] {
            if v == 0 {
                return arch_err(field, "must be positive");
            }
        }
        if self.seq > self.max_positions {
            return arch_err(
                "seq",
                format!(
                    "{} tokens exceed the {} positions the model has",
                    self.seq, self.max_positions
                ),
            );
        }
        if self.layers.is_empty() {
            return arch_err("layers", "needs at least one layer");
        }
        for (i, l) in self.layers.iter().enumerate() {
            for (f, v) in [("hidden", l.hidden), ("heads", l.heads), ("ffn", l.ffn)] {
                if v == 0 {
                    return arch_err(format!("layers[{i}].{f}"), "must be positive");
                }
            }
        }
        Ok(())
    }

    /// Builds the encoder with inputs `input_ids`, `token_type_ids` (i32[seq]) and
    /// `attention_mask` (f32[seq], 1 = real token) and outputs the last hidden state [seq, width]
    /// and the sentence embedding [width] (masked mean, L2-normalised).
    pub fn build(&self) -> Result<Graph> {
        let (mut g, hidden, mask) = self.encoder("bert")?;
        let mean = g.add(Op::MaskedMean, &[hidden, mask])?;
        let sentence = g.add(Op::L2Normalize, &[mean])?;
        g.set_outputs(vec![hidden, sentence])?;
        Ok(g)
    }

    /// The encoder with a classification head: [`Self::build`]'s outputs, then the logits
    /// [classes] of `head` (weights `head.w` [classes, width], `head.b`) applied to the masked
    /// mean of the last hidden states (before L2 normalisation: the head sees the mean's scale).
    pub fn build_classifier(&self, classes: usize) -> Result<Graph> {
        if classes == 0 {
            return arch_err("classes", "must be positive");
        }
        let (mut g, hidden, mask) = self.encoder("bert-classifier")?;
        let mean = g.add(Op::MaskedMean, &[hidden, mask])?;
        let sentence = g.add(Op::L2Normalize, &[mean])?;
        let width = self.layers.last().map_or(self.hidden, |l| l.hidden);
        let logits = linear(&mut g, "head", width, classes, mean)?;
        g.set_outputs(vec![hidden, sentence, logits])?;
        Ok(g)
    }

    /// Embeddings and encoder layers; returns the graph, the last hidden state and the mask.
    fn encoder(&self, name: &str) -> Result<(Graph, NodeId, NodeId)> {
        self.validate()?;
        let mut g = Graph::new(name);
        let s = self.seq;
        let dense = |g: &mut Graph, name: String, shape: Vec<usize>| g.add_param(name, ParamSpec::dense(shape));
        let ids = g.add(
            Op::Input {
                name: "input_ids".into(),
                ty: TensorType::i32(vec![s]),
            },
            &[],
        )?;
        let types = g.add(
            Op::Input {
                name: "token_type_ids".into(),
                ty: TensorType::i32(vec![s]),
            },
            &[],
        )?;
        let mask = g.add(
            Op::Input {
                name: "attention_mask".into(),
                ty: TensorType::f32(vec![s]),
            },
            &[],
        )?;
        let pos = g.add(Op::Arange { len: s }, &[])?;
        let embed = |g: &mut Graph, name: &str, rows: usize, from: NodeId| -> Result<NodeId> {
            let table = dense(g, format!("emb.{name}"), vec![rows, self.hidden])?;
            g.add(Op::Embedding { table }, &[from])
        };
        let w = embed(&mut g, "word", self.vocab, ids)?;
        let p = embed(&mut g, "pos", self.max_positions, pos)?;
        let t = embed(&mut g, "type", self.type_vocab, types)?;
        let wp = g.add(Op::Add, &[w, p])?;
        let e = g.add(Op::Add, &[wp, t])?;
        let mut x = self.layer_norm(&mut g, "emb.ln", self.hidden, e)?;
        let mut width = self.hidden;
        for (i, l) in self.layers.iter().enumerate() {
            if l.hidden != width {
                x = linear(&mut g, &format!("enc.{i}.proj"), width, l.hidden, x)?;
                width = l.hidden;
            }
            x = self.layer(&mut g, i, l, x, mask)?;
        }
        Ok((g, x, mask))
    }

    fn layer_norm(&self, g: &mut Graph, prefix: &str, width: usize, x: NodeId) -> Result<NodeId> {
        let gamma = g.add_param(format!("{prefix}.g"), ParamSpec::dense(vec![width]))?;
        let beta = g.add_param(format!("{prefix}.b"), ParamSpec::dense(vec![width]))?;
        g.add(
            Op::LayerNorm {
                gamma,
                beta,
                eps: self.layer_norm_eps,
            },
            &[x],
        )
    }

    fn layer(&self, g: &mut Graph, i: usize, l: &BertLayer, x: NodeId, mask: NodeId) -> Result<NodeId> {
        let att = l.heads * self.head_dim;
        let p = format!("enc.{i}");
        let q = linear(g, &format!("{p}.attn.q"), l.hidden, att, x)?;
        let k = linear(g, &format!("{p}.attn.k"), l.hidden, att, x)?;
        let v = linear(g, &format!("{p}.attn.v"), l.hidden, att, x)?;
        let [qh, kh, vh] = [q, k, v].map(|n| g.add(Op::SplitHeads { heads: l.heads }, &[n]));
        let alpha = 1.0 / (self.head_dim as f32).sqrt();
        let scores = g.add(
            Op::MatMul {
                transpose_b: true,
                alpha,
            },
            &[qh?, kh?],
        )?;
        let probs = g.add(Op::MaskedSoftmax, &[scores, mask])?;
        let ctx = g.add(
            Op::MatMul {
                transpose_b: false,
                alpha: 1.0,
            },
            &[probs, vh?],
        )?;
        let merged = g.add(Op::MergeHeads, &[ctx])?;
        let o = linear(g, &format!("{p}.attn.o"), att, l.hidden, merged)?;
        let r1 = g.add(Op::Add, &[o, x])?;
        let x1 = self.layer_norm(g, &format!("{p}.attn.ln"), l.hidden, r1)?;
        let f = linear(g, &format!("{p}.ffn.in"), l.hidden, l.ffn, x1)?;
        let f = g.add(Op::Act(Activation::Gelu), &[f])?;
        let f2 = linear(g, &format!("{p}.ffn.out"), l.ffn, l.hidden, f)?;
        let r2 = g.add(Op::Add, &[f2, x1])?;
        self.layer_norm(g, &format!("{p}.ffn.ln"), l.hidden, r2)
    }
}

/// `linear` then `bias_add`, unfused, with parameters `{prefix}.w` [out, in] and `{prefix}.b`;
/// the fusion pass folds them.
pub(crate) fn linear(g: &mut Graph, prefix: &str, input: usize, output: usize, x: NodeId) -> Result<NodeId> {
    let weight = g.add_param(format!("{prefix}.w"), ParamSpec::dense(vec![output, input]))?;
    let bias = g.add_param(format!("{prefix}.b"), ParamSpec::dense(vec![output]))?;
    let y = g.add(
        Op::Linear {
            weight,
            bias: None,
            act: Activation::Identity,
            residual: false,
        },
        &[x],
    )?;
    g.add(Op::BiasAdd { bias }, &[y])
}
