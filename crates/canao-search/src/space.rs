//! A search space: which students of a teacher may be built. Per kept teacher layer a student
//! picks its heads, FFN width, weight density and block shape from the lists given here.

use canao_ir::builders::{BertArch, BertLayer};
use canao_models::{StudentArch, StudentLayer};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};

/// The space format version this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// The pretrained models a space can take students of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Teacher {
    /// all-MiniLM-L6-v2 (6 layers, width 384, 12 heads of 32, FFN 1536); weights from the asset
    /// cache, so its students can be scored.
    Minilm,
    /// BERT-base's shape (12 layers, width 768, 12 heads of 64, FFN 3072), for latency-only
    /// search: no weights are shipped for it.
    BertBase,
}

impl Teacher {
    pub fn arch(&self, seq: usize) -> BertArch {
        match self {
            Teacher::Minilm => BertArch::minilm(seq),
            Teacher::BertBase => BertArch {
                hidden: 768,
                head_dim: 64,
                layers: vec![
                    BertLayer {
                        hidden: 768,
                        heads: 12,
                        ffn: 3072
                    };
                    12
                ],
                ..BertArch::minilm(seq)
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpace {
    pub version: u32,
    pub name: String,
    pub teacher: Teacher,
    /// Tokens per sequence candidates are built and timed at.
    pub seq: usize,
    /// Fewest and most teacher layers a student keeps.
    pub layers: (usize, usize),
    pub heads: Vec<usize>,
    pub ffn: Vec<usize>,
    /// Share of weight blocks kept per layer (1 = dense).
    pub density: Vec<f64>,
    /// Block shapes [rows, cols] for layers with density below 1.
    pub block: Vec<[usize; 2]>,
}

impl SearchSpace {
    /// Parses and checks a space; `origin` (a file name) labels errors, which carry line and
    /// column for syntax errors and unknown fields, and the field for out-of-range values.
    pub fn from_ron(text: &str, origin: &str) -> Result<Self> {
        let s: SearchSpace = ron::from_str(text).map_err(|e| SearchError::Ron {
            origin: origin.into(),
            detail: e.to_string(),
        })?;
        s.validate(origin)?;
        Ok(s)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SearchError::Ron {
            origin: origin.clone(),
            detail: e.to_string(),
        })?;
        Self::from_ron(&text, &origin)
    }

    pub fn teacher_arch(&self) -> BertArch {
        self.teacher.arch(self.seq)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let err = |field: String, detail: String| {
            Err(SearchError::Field {
                origin: origin.into(),
                field,
                detail,
            })
        };
        if self.version != FORMAT_VERSION {
            return err(
                "version".into(),
                format!("is {}, this build reads {FORMAT_VERSION}", self.version),
            );
        }
        let t = self.teacher_arch();
        if self.seq == 0 || self.seq > t.max_positions {
            return err("seq".into(), format!("must be in 1..={}", t.max_positions));
        }
        let (lo, hi) = self.layers;
        if lo == 0 || lo > hi || hi > t.layers.len() {
            return err(
                "layers".into(),
                format!("({lo}, {hi}) must satisfy 1 <= min <= max <= {}", t.layers.len()),
            );
        }
        for (name, list, max) in [
            ("heads", &self.heads, t.layers[0].heads),
            ("ffn", &self.ffn, t.layers[0].ffn),
        ] {
            if list.is_empty() {
                return err(name.into(), "needs at least one choice".into());
            }
            if let Some((i, v)) = list.iter().enumerate().find(|(_, v)| **v == 0 || **v > max) {
                return err(format!("{name}[{i}]"), format!("is {v}, must be in 1..={max}"));
            }
        }
        if self.density.is_empty() {
            return err("density".into(), "needs at least one choice".into());
        }
        if let Some((i, d)) = self
            .density
            .iter()
            .enumerate()
            .find(|(_, d)| !(**d > 0.0 && **d <= 1.0))
        {
            return err(format!("density[{i}]"), format!("is {d}, must be in (0, 1]"));
        }
        if let Some((i, _)) = self.block.iter().enumerate().find(|(_, b)| b[0] == 0 || b[1] == 0) {
            return err(format!("block[{i}]"), "sides must be positive".into());
        }
        if self.block.is_empty() && self.density.iter().any(|&d| d < 1.0) {
            return err("block".into(), "needed when a density below 1 is allowed".into());
        }
        Ok(())
    }

    /// A uniformly random student: the number of kept layers, which ones, and each layer's
    /// choices.
    pub fn sample(&self, rng: &mut impl Rng) -> StudentArch {
        let n = self.teacher_arch().layers.len();
        let keep = rng.random_range(self.layers.0..=self.layers.1);
        let mut kept = rand::seq::index::sample(rng, n, keep).into_vec();
        kept.sort_unstable();
        let layers = kept
            .into_iter()
            .map(|teacher| {
                let density = *self.density.choose(rng).expect("validated non-empty");
                StudentLayer {
                    teacher,
                    heads: *self.heads.choose(rng).expect("validated non-empty"),
                    ffn: *self.ffn.choose(rng).expect("validated non-empty"),
                    density,
                    block: (density < 1.0).then(|| *self.block.choose(rng).expect("validated non-empty")),
                }
            })
            .collect();
        StudentArch { layers }
    }

    /// Refuses a student this space cannot produce, naming the field.
    pub fn contains(&self, s: &StudentArch) -> Result<()> {
        let outside = |field: String, detail: String| {
            Err(SearchError::Outside {
                space: self.name.clone(),
                field,
                detail,
            })
        };
        if let Err(e) = s.validate(&self.teacher_arch()) {
            return outside("layers".into(), e.to_string());
        }
        let (lo, hi) = self.layers;
        if !(lo..=hi).contains(&s.layers.len()) {
            return outside(
                "layers".into(),
                format!("keeps {} layers, the space allows {lo} to {hi}", s.layers.len()),
            );
        }
        for (i, l) in s.layers.iter().enumerate() {
            let at = |f: &str| format!("layers[{i}].{f}");
            if !self.heads.contains(&l.heads) {
                return outside(at("heads"), format!("{} is not one of {:?}", l.heads, self.heads));
            }
            if !self.ffn.contains(&l.ffn) {
                return outside(at("ffn"), format!("{} is not one of {:?}", l.ffn, self.ffn));
            }
            if !self.density.iter().any(|d| (d - l.density).abs() < 1e-9) {
                return outside(at("density"), format!("{} is not one of {:?}", l.density, self.density));
            }
            if let Some(b) = l.block.filter(|_| l.density < 1.0)
                && !self.block.contains(&b)
            {
                return outside(at("block"), format!("{b:?} is not one of {:?}", self.block));
            }
        }
        Ok(())
    }
}
