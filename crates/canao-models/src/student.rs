//! Students of a BERT-family teacher: which teacher layers are kept, how many heads and FFN
//! neurons each keeps, and the block sparsity its linear layers are pruned to. This is the
//! decision vector of the BERT search space and what `--arch` files describe for a teacher.

use std::collections::BTreeMap;

use canao_ir::builders::{BertArch, BertLayer};
use canao_ir::{Graph, Sparsity, Weights};
use serde::{Deserialize, Serialize};

use crate::error::{NnError, Result};

/// The six weight matrices of an encoder layer, as suffixes of `enc.{i}.`.
pub const LAYER_WEIGHTS: [&str; 6] = ["attn.q.w", "attn.k.w", "attn.v.w", "attn.o.w", "ffn.in.w", "ffn.out.w"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentArch {
    pub layers: Vec<StudentLayer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentLayer {
    /// The teacher layer this one inherits (teacher layers keep their order).
    pub teacher: usize,
    pub heads: usize,
    pub ffn: usize,
    /// Share of weight blocks kept in the layer's six matrices; 1 = dense.
    #[serde(default = "dense")]
    pub density: f64,
    /// Block shape [rows, cols] of the pruning; needed when `density` < 1.
    #[serde(default)]
    pub block: Option<[usize; 2]>,
}

fn dense() -> f64 {
    1.0
}

fn arch_error(field: String, detail: String) -> NnError {
    NnError::Student { field, detail }
}

impl StudentArch {
    /// The teacher itself: every layer, every head and neuron, dense.
    pub fn identity(teacher: &BertArch) -> Self {
        Self {
            layers: teacher
                .layers
                .iter()
                .enumerate()
                .map(|(i, l)| StudentLayer {
                    teacher: i,
                    heads: l.heads,
                    ffn: l.ffn,
                    density: 1.0,
                    block: None,
                })
                .collect(),
        }
    }

    /// Checks the student against its teacher; errors name the field (`layers[2].heads`).
    pub fn validate(&self, teacher: &BertArch) -> Result<()> {
        if self.layers.is_empty() {
            return Err(arch_error("layers".into(), "a student keeps at least one layer".into()));
        }
        let mut previous = None;
        for (i, l) in self.layers.iter().enumerate() {
            let at = |f: &str| format!("layers[{i}].{f}");
            let Some(t) = teacher.layers.get(l.teacher) else {
                return Err(arch_error(
                    at("teacher"),
                    format!("is {}, the teacher has {} layers", l.teacher, teacher.layers.len()),
                ));
            };
            if previous.is_some_and(|p| l.teacher <= p) {
                return Err(arch_error(
                    at("teacher"),
                    "teacher layers must be kept in increasing order, each once".into(),
                ));
            }
            previous = Some(l.teacher);
            for (f, v, max) in [("heads", l.heads, t.heads), ("ffn", l.ffn, t.ffn)] {
                if v == 0 || v > max {
                    return Err(arch_error(at(f), format!("is {v}, must be in 1..={max}")));
                }
            }
            if !(l.density > 0.0 && l.density <= 1.0) {
                return Err(arch_error(
                    at("density"),
                    format!("is {}, must be in (0, 1]", l.density),
                ));
            }
            match l.block {
                Some([r, c]) if r == 0 || c == 0 => {
                    return Err(arch_error(at("block"), "sides must be positive".into()));
                }
                None if l.density < 1.0 => {
                    return Err(arch_error(at("block"), "needed when density < 1".into()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The student's encoder architecture at `seq` tokens (widths are the teacher's).
    pub fn bert(&self, teacher: &BertArch, seq: usize) -> Result<BertArch> {
        self.validate(teacher)?;
        Ok(BertArch {
            seq,
            layers: self
                .layers
                .iter()
                .map(|l| BertLayer {
                    hidden: teacher.layers[l.teacher].hidden,
                    heads: l.heads,
                    ffn: l.ffn,
                })
                .collect(),
            ..teacher.clone()
        })
    }

    /// Block-magnitude masks for the pruned layers of a graph built from [`Self::bert`], from the
    /// weights bound to it: parameter name -> sparsity.
    pub fn masks(&self, weights: &Weights) -> Result<BTreeMap<String, Sparsity>> {
        let mut out = BTreeMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            let Some(block) = l.block.filter(|_| l.density < 1.0) else {
                continue;
            };
            for w in LAYER_WEIGHTS {
                let name = format!("enc.{i}.{w}");
                let t = weights.dense(&name)?;
                let s = canao_compress::block_magnitude(&name, t, block, 1.0 - l.density)
                    .map_err(|e| arch_error(format!("layers[{i}]"), e.to_string()))?;
                out.insert(name, s);
            }
        }
        Ok(out)
    }

    /// Imposes [`Self::masks`] on `graph`.
    pub fn sparsify(&self, graph: &mut Graph, weights: &Weights) -> Result<()> {
        for (name, s) in self.masks(weights)? {
            graph.set_sparsity(&name, s)?;
        }
        Ok(())
    }

    /// The student of `teacher` at `seq` tokens with random weights drawn from `rng`, its masks
    /// chosen by magnitude on them: for latency work, where the values do not matter but the
    /// structure does.
    pub fn random_model<R: rand::Rng>(&self, teacher: &BertArch, seq: usize, rng: &mut R) -> Result<(Graph, Weights)> {
        let mut graph = self.bert(teacher, seq)?.build()?;
        let weights = canao_interp::random::random_weights(&graph, rng);
        self.sparsify(&mut graph, &weights)?;
        Ok((graph, weights))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn field_of(e: NnError) -> String {
        match e {
            NnError::Student { field, .. } => field,
            other => panic!("expected a student error, got {other}"),
        }
    }

    #[test]
    fn refuses_students_outside_the_teacher() {
        let t = BertArch::minilm(8);
        let mut s = StudentArch::identity(&t);
        s.validate(&t).unwrap();
        s.layers[2].heads = 13;
        assert_eq!(field_of(s.validate(&t).unwrap_err()), "layers[2].heads");
        let mut s = StudentArch::identity(&t);
        s.layers.swap(0, 1);
        assert_eq!(field_of(s.validate(&t).unwrap_err()), "layers[1].teacher");
        let mut s = StudentArch::identity(&t);
        s.layers[0].density = 0.5;
        assert_eq!(field_of(s.validate(&t).unwrap_err()), "layers[0].block");
        s.layers[0].block = Some([4, 0]);
        assert_eq!(field_of(s.validate(&t).unwrap_err()), "layers[0].block");
        s.layers[0].teacher = 6;
        assert_eq!(field_of(s.validate(&t).unwrap_err()), "layers[0].teacher");
    }

    #[test]
    fn builds_the_shrunk_encoder_and_its_masks() {
        let t = BertArch::minilm(8);
        let s = StudentArch {
            layers: vec![
                StudentLayer {
                    teacher: 1,
                    heads: 4,
                    ffn: 100,
                    density: 0.25,
                    block: Some([16, 16]),
                },
                StudentLayer {
                    teacher: 5,
                    heads: 12,
                    ffn: 1536,
                    density: 1.0,
                    block: None,
                },
            ],
        };
        let arch = s.bert(&t, 8).unwrap();
        assert_eq!(arch.layers.len(), 2);
        assert_eq!((arch.layers[0].heads, arch.layers[0].ffn), (4, 100));
        let arch = BertArch { vocab: 50, ..arch };
        let g = arch.build().unwrap();
        let w = canao_interp::random::random_weights(&g, &mut rand::rngs::StdRng::seed_from_u64(3));
        let masks = s.masks(&w).unwrap();
        assert_eq!(masks.len(), 6, "only the pruned layer gets masks");
        let q = &masks["enc.0.attn.q.w"];
        // q is [128, 384]: 8 x 24 blocks of 16x16, a quarter of them kept.
        assert_eq!(q.nnz(&[128, 384]), 48 * 256);
    }
}
