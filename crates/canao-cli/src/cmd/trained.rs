//! A `canao train` / `canao distill` run folder as a model: its BERT classifier's weights with
//! the structure they were trained under, as an encoder every command runs (embed, bench,
//! export) and as the classifier `run --weights` and `export --weights` use.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use canao_ir::builders::BertArch;
use canao_ir::pass::Pipeline;
use canao_ir::{Executable, Graph, Runtime, Schedule, Weights};
use canao_models::{Encoded, MiniLm, assets};
use canao_train::{Constraints, ModelSpec};

/// The classification head's parameters, which the encoder-only graphs do not declare.
const HEAD: [&str; 2] = ["head.w", "head.b"];

#[derive(Debug)]
pub struct TrainedBert {
    pub arch: BertArch,
    pub labels: Vec<String>,
    pub weights: Weights,
    pub constraints: Constraints,
}

impl TrainedBert {
    pub fn load(dir: &Path) -> Result<Self> {
        let spec = ModelSpec::load(&dir.join("model.ron"))?;
        let ModelSpec::BertClassifier { arch, labels } = spec else {
            bail!("{} holds a LeNet; --weights takes a BERT classifier run", dir.display());
        };
        let file = dir.join("weights.safetensors");
        let weights = canao_train::checkpoint::read_weights(&file)?;
        let constraints_file = dir.join("constraints.ron");
        let constraints = if constraints_file.exists() {
            Constraints::load(&constraints_file)?
        } else {
            Constraints::new()
        };
        let t = Self {
            arch,
            labels,
            weights,
            constraints,
        };
        t.classifier(1)
            .and_then(|g| Ok(t.weights.check_against(&g)?))
            .with_context(|| format!("checking {}", file.display()))?;
        Ok(t)
    }

    /// The encoder (head dropped) with its trained structure, as a model every command runs;
    /// the tokenizer is MiniLM's.
    pub fn encoder(&self) -> Result<MiniLm> {
        let minilm = MiniLm::from_cache(&assets::canao_home(), &mut |line| eprintln!("{line}"))?;
        let mut weights = self.weights.clone();
        let mut encoder = Weights::new();
        for (name, value) in weights.iter() {
            if !HEAD.contains(&name.as_str()) {
                encoder.insert(name.clone(), value.clone());
            }
        }
        weights = encoder;
        let mut model = MiniLm::from_parts(
            minilm.dir(),
            self.arch.clone(),
            minilm.tokenizer().clone(),
            weights,
            None,
        )?;
        for (name, s) in self.constraints.iter() {
            model.set_sparsity(name, s.clone())?;
        }
        Ok(model)
    }

    /// The classifier graph at `seq` tokens with the trained structure, after the passes.
    pub fn classifier(&self, seq: usize) -> Result<Graph> {
        let mut g = self.arch.with_seq(seq).build_classifier(self.labels.len())?;
        self.constraints.apply_to(&mut g)?;
        Pipeline::standard().run(&mut g)?;
        Ok(g)
    }

    /// Logits of each tokenised text on `runtime`, each at its own length.
    pub fn logits<R: Runtime>(&self, runtime: &R, schedule: &Schedule, encoded: &[Encoded]) -> Result<Vec<Vec<f32>>> {
        let mut exes: BTreeMap<usize, R::Exe> = BTreeMap::new();
        let mut out = Vec::with_capacity(encoded.len());
        for enc in encoded {
            let n = enc.ids.len();
            let exe = match exes.entry(n) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => e.insert(
                    runtime
                        .prepare(&self.classifier(n)?, &self.weights, schedule)
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                ),
            };
            let mut outputs = exe.run(&MiniLm::inputs(enc)?).map_err(|e| anyhow::anyhow!("{e}"))?;
            out.push(outputs.pop().expect("classifier graphs output logits last").into_data());
        }
        Ok(out)
    }
}
