//! A BERT-family encoder with a classification head, built from a `BertArch` (per-layer widths,
//! heads and FFN sizes, so students of a teacher build too), computing what canao's IR graph of
//! `BertArch::build_classifier` computes: embeddings, post-norm encoder layers, the masked mean of
//! the last hidden states and a linear head on it. Dropout (BERT's 0.1 by default) is applied
//! after the embeddings, to the attention probabilities, after each sublayer and before the
//! head, and only when training.

use burn::module::{Module, Param};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};
use canao_ir::Weights;
use canao_ir::builders::BertArch;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::layers::{Dense, Dropout, Norm, dropout, normal};
use crate::params::WeightSource;

/// Token inputs of a batch of sequences padded to one length: row-major [batch, seq].
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    pub batch: usize,
    pub seq: usize,
    pub ids: Vec<i64>,
    pub types: Vec<i64>,
    /// 1 for a real token, 0 for padding.
    pub mask: Vec<f32>,
}

/// What a forward pass returns: every layer's output (for hidden-state distillation) and the
/// logits.
#[derive(Debug)]
pub struct BertOutputs {
    /// [batch, seq, width] after each encoder layer.
    pub layers: Vec<Tensor<3>>,
    /// [batch, classes].
    pub logits: Tensor<2>,
}

#[derive(Module, Debug)]
pub struct Embeddings {
    pub word: Param<Tensor<2>>,
    pub pos: Param<Tensor<2>>,
    pub type_: Param<Tensor<2>>,
    pub ln: Norm,
}

#[derive(Module, Debug)]
pub struct Attention {
    pub q: Dense,
    pub k: Dense,
    pub v: Dense,
    pub o: Dense,
    pub ln: Norm,
    pub heads: usize,
    pub head_dim: usize,
}

#[derive(Module, Debug)]
pub struct Ffn {
    pub in_: Dense,
    pub out: Dense,
    pub ln: Norm,
}

#[derive(Module, Debug)]
pub struct Layer {
    /// A projection from the previous layer's width, when it differs.
    pub proj: Option<Dense>,
    pub attn: Attention,
    pub ffn: Ffn,
}

#[derive(Module, Debug)]
pub struct BertClassifier {
    pub emb: Embeddings,
    pub enc: Vec<Layer>,
    pub head: Dense,
}

impl BertClassifier {
    /// Binds `weights` (the names of `arch.build_classifier(classes)`) on `device`; every
    /// parameter must be there with its shape, and nothing else.
    pub fn load(arch: &BertArch, classes: usize, weights: &Weights, device: &Device) -> Result<Self> {
        arch.validate()?;
        let mut src = WeightSource::new(weights)?;
        let h = arch.hidden;
        let eps = arch.layer_norm_eps;
        let emb = Embeddings {
            word: src.take("emb.word", [arch.vocab, h], device)?,
            pos: src.take("emb.pos", [arch.max_positions, h], device)?,
            type_: src.take("emb.type", [arch.type_vocab, h], device)?,
            ln: Norm::load(&mut src, "emb.ln", h, eps, device)?,
        };
        let mut width = h;
        let mut enc = Vec::with_capacity(arch.layers.len());
        for (i, l) in arch.layers.iter().enumerate() {
            let p = format!("enc.{i}");
            let proj = if l.hidden != width {
                Some(Dense::load(&mut src, &format!("{p}.proj"), width, l.hidden, device)?)
            } else {
                None
            };
            width = l.hidden;
            let att = l.heads * arch.head_dim;
            let dense = |src: &mut WeightSource, name: &str, i: usize, o: usize| {
                Dense::load(src, &format!("{p}.{name}"), i, o, device)
            };
            let attn = Attention {
                q: dense(&mut src, "attn.q", width, att)?,
                k: dense(&mut src, "attn.k", width, att)?,
                v: dense(&mut src, "attn.v", width, att)?,
                o: dense(&mut src, "attn.o", att, width)?,
                ln: Norm::load(&mut src, &format!("{p}.attn.ln"), width, eps, device)?,
                heads: l.heads,
                head_dim: arch.head_dim,
            };
            let ffn = Ffn {
                in_: dense(&mut src, "ffn.in", width, l.ffn)?,
                out: dense(&mut src, "ffn.out", l.ffn, width)?,
                ln: Norm::load(&mut src, &format!("{p}.ffn.ln"), width, eps, device)?,
            };
            enc.push(Layer { proj, attn, ffn });
        }
        let head = Dense::load(&mut src, "head", width, classes, device)?;
        src.finish()?;
        Ok(Self { emb, enc, head })
    }

    /// The forward pass; `noise` is dropout while training, `None` in evaluation.
    pub fn forward(&self, batch: &TokenBatch, mut noise: Option<&mut Dropout>) -> BertOutputs {
        let device = self.emb.word.val().device();
        let (b, s) = (batch.batch, batch.seq);
        let ints = |v: &[i64]| Tensor::<1, Int>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device);
        let width = self.emb.word.val().dims()[1];
        let word = self.emb.word.val().select(0, ints(&batch.ids)).reshape([b, s, width]);
        let kinds = self
            .emb
            .type_
            .val()
            .select(0, ints(&batch.types))
            .reshape([b, s, width]);
        let positions: Vec<i64> = (0..s as i64).collect();
        let pos = self.emb.pos.val().select(0, ints(&positions)).unsqueeze::<3>();
        let mut x = dropout(self.emb.ln.forward(word + pos + kinds), &mut noise);

        let mask = Tensor::<2>::from_data(TensorData::new(batch.mask.clone(), [b, s]), &device);
        // Padded keys get -1e9 before the softmax: exp underflows to exactly 0.
        let key_bias = (mask.clone() - 1.0).mul_scalar(1e9).reshape([b, 1, 1, s]);
        let mut layers = Vec::with_capacity(self.enc.len());
        for layer in &self.enc {
            if let Some(p) = &layer.proj {
                x = p.forward(x);
            }
            x = layer.attn.forward(x, key_bias.clone(), &mut noise);
            x = layer.ffn.forward(x, &mut noise);
            layers.push(x.clone());
        }
        let m = mask.reshape([b, s, 1]);
        let mean = (x * m.clone()).sum_dim(1) / m.sum_dim(1);
        let pooled = dropout(mean.reshape([b, width_of(&layers, width)]), &mut noise);
        BertOutputs {
            layers,
            logits: self.head.forward(pooled),
        }
    }
}

fn width_of(layers: &[Tensor<3>], embedding: usize) -> usize {
    layers.last().map_or(embedding, |l| l.dims()[2])
}

impl Attention {
    fn forward(&self, x: Tensor<3>, key_bias: Tensor<4>, noise: &mut Option<&mut Dropout>) -> Tensor<3> {
        let [b, s, _] = x.dims();
        let (h, d) = (self.heads, self.head_dim);
        let split = |t: Tensor<3>| t.reshape([b, s, h, d]).swap_dims(1, 2);
        let q = split(self.q.forward(x.clone()));
        let k = split(self.k.forward(x.clone()));
        let v = split(self.v.forward(x.clone()));
        let scores = q.matmul(k.transpose()).mul_scalar(1.0 / (d as f32).sqrt()) + key_bias;
        let probs = dropout(softmax(scores, 3), noise);
        let ctx = probs.matmul(v).swap_dims(1, 2).reshape([b, s, h * d]);
        let out = dropout(self.o.forward(ctx), noise);
        self.ln.forward(out + x)
    }
}

impl Ffn {
    fn forward(&self, x: Tensor<3>, noise: &mut Option<&mut Dropout>) -> Tensor<3> {
        let f = dropout(self.out.forward(gelu(self.in_.forward(x.clone()))), noise);
        self.ln.forward(f + x)
    }
}

/// Adds a freshly initialised head (`head.w` ~ N(0, 0.02^2), BERT's initialiser; `head.b` = 0)
/// for `classes` classes on top of encoder weights of `arch`.
pub fn add_head(weights: &mut Weights, arch: &BertArch, classes: usize, seed: u64) {
    let width = arch.layers.last().map_or(arch.hidden, |l| l.hidden);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w: Vec<f32> = (0..classes * width).map(|_| 0.02 * normal(&mut rng)).collect();
    weights.insert_dense(
        "head.w",
        canao_tensor::Tensor::new(vec![classes, width], w).expect("sized above"),
    );
    weights.insert_dense("head.b", canao_tensor::Tensor::zeros(vec![classes]));
}
