//! The objective of the BERT space: a student of MiniLM, built with the teacher's weights
//! (kept layers; heads and FFN neurons kept by importance; block masks by group magnitude), is
//! scored on Rotten Tomatoes sentiment by a linear probe on its sentence embeddings, and by the
//! fidelity of those embeddings to the teacher's; its latency and energy come from the latency
//! model of a device profile for the plan of the injected backend (the CLI's: the CPU backend).

use std::collections::BTreeMap;

use canao_ir::{Executable, ReportsWork, Runtime, Schedule};
use canao_latency::PlanPredictor;
use canao_models::{Encoded, LengthPolicy, MiniLm, Review, StudentArch};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError, backend};
use crate::objective::{CandidateKey, Evaluation, Objective};
use crate::probe::probe_accuracy;
use crate::space::SearchSpace;

/// Snippets are padded up to a multiple of this many tokens, so a student needs one executable
/// per bucket rather than per length.
const BUCKET: usize = 16;
/// Timed runs per candidate with `measure` (median), after one warm-up.
const MEASURE_RUNS: usize = 5;

/// How candidates are scored; part of a run's resolved configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Snippets the probe is trained on and tested on: a fixed split of the corpus (shuffled
    /// with seed 0 whatever the search seed).
    pub train: usize,
    pub test: usize,
    /// Snippets longer than this many tokens are cut.
    pub max_tokens: usize,
    /// Weight of embedding fidelity in the score; the rest is probe accuracy.
    pub fidelity_weight: f64,
}

impl Default for Task {
    fn default() -> Self {
        Self {
            train: 600,
            test: 400,
            max_tokens: 64,
            fidelity_weight: 0.5,
        }
    }
}

/// Scores the students of a space; [`Students`] makes any scorer the search's objective over
/// decision vectors.
pub trait StudentScorer: Sync + std::fmt::Debug {
    fn space(&self) -> &SearchSpace;
    /// Scores any student of the space's teacher, in the space or not.
    fn score(&self, student: &StudentArch) -> Result<Evaluation>;

    /// Scores a candidate, refusing one the space cannot produce.
    fn evaluate_student(&self, student: &StudentArch) -> Result<Evaluation> {
        self.space().contains(student)?;
        self.score(student)
    }

    /// Scores the teacher itself: the reference every candidate is compared with, so it need
    /// not be a point of the space (a space may leave out the teacher's own heads or depth).
    fn evaluate_teacher(&self) -> Result<Evaluation> {
        self.score(&StudentArch::identity(&self.space().teacher_arch()))
    }
}

/// A scorer as an objective: points decode to students of its space, a student's key is its RON.
#[derive(Debug, Clone, Copy)]
pub struct Students<'a>(pub &'a dyn StudentScorer);

impl Objective for Students<'_> {
    fn key(&self, point: &[usize]) -> Result<CandidateKey> {
        let student = self.0.space().decode(point)?;
        Ok(CandidateKey(ron::to_string(&student).expect("students serialise")))
    }

    fn describe(&self, point: &[usize]) -> Result<serde_json::Value> {
        Ok(serde_json::to_value(self.0.space().decode(point)?).expect("students serialise"))
    }

    fn evaluate(&self, point: &[usize]) -> Result<Evaluation> {
        self.0.evaluate_student(&self.0.space().decode(point)?)
    }
}

/// Scores MiniLM's students, running them (embeddings, optional timing) and predicting them on
/// the backend `R` of its predictor.
#[derive(Debug)]
pub struct StudentObjective<R> {
    space: SearchSpace,
    teacher: MiniLm,
    task: Task,
    train: Vec<Encoded>,
    test: Vec<Encoded>,
    train_y: Vec<bool>,
    test_y: Vec<bool>,
    /// The teacher's embeddings of train then test snippets.
    teacher_embeddings: Vec<Vec<f32>>,
    predictor: PlanPredictor<R>,
    /// Also time each candidate here (its latency at the space's sequence length).
    measure: bool,
}

impl<R> StudentObjective<R>
where
    R: Runtime + Sync + std::fmt::Debug,
    R::Exe: ReportsWork,
{
    pub fn new(
        space: SearchSpace,
        teacher: MiniLm,
        reviews: &[Review],
        task: Task,
        predictor: PlanPredictor<R>,
        measure: bool,
    ) -> Result<Self> {
        if task.train + task.test > reviews.len() || task.train < 2 || task.test < 1 {
            return Err(SearchError::Config {
                field: "task".into(),
                detail: format!(
                    "train {} + test {} snippets: need at least 2 + 1 and at most the corpus's {}",
                    task.train,
                    task.test,
                    reviews.len()
                ),
            });
        }
        if !(0.0..=1.0).contains(&task.fidelity_weight) || task.max_tokens < 3 {
            return Err(SearchError::Config {
                field: "task".into(),
                detail: "fidelity_weight must be in [0, 1] and max_tokens at least 3".into(),
            });
        }
        let mut order: Vec<usize> = (0..reviews.len()).collect();
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
        let encode = |ids: &[usize]| -> Result<Vec<Encoded>> {
            ids.iter()
                .map(|&i| {
                    let max = task.max_tokens.min(teacher.max_positions());
                    Ok(teacher
                        .tokenizer()
                        .encode(&reviews[i].text, i, max, LengthPolicy::Truncate)?)
                })
                .collect()
        };
        let (train_ids, rest) = order.split_at(task.train);
        let test_ids = &rest[..task.test];
        let mut objective = Self {
            train: encode(train_ids)?,
            test: encode(test_ids)?,
            train_y: train_ids.iter().map(|&i| reviews[i].fresh).collect(),
            test_y: test_ids.iter().map(|&i| reviews[i].fresh).collect(),
            teacher_embeddings: Vec::new(),
            space,
            teacher,
            task,
            predictor,
            measure,
        };
        objective.teacher_embeddings = objective.embed(&objective.teacher)?;
        Ok(objective)
    }

    /// Sentence embeddings of the train then test snippets, one thread.
    fn embed(&self, model: &MiniLm) -> Result<Vec<Vec<f32>>> {
        let texts: Vec<&Encoded> = self.train.iter().chain(&self.test).collect();
        let mut by_bucket: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, e) in texts.iter().enumerate() {
            by_bucket
                .entry(e.ids.len().div_ceil(BUCKET) * BUCKET)
                .or_default()
                .push(i);
        }
        let mut out = vec![Vec::new(); texts.len()];
        for (len, members) in by_bucket {
            let mut exe = self
                .predictor
                .runtime()
                .prepare(&model.graph(len)?, model.weights(), &Schedule { threads: 1 })
                .map_err(backend)?;
            for i in members {
                let mut outputs = exe.run(&MiniLm::inputs_padded(texts[i], len)?).map_err(backend)?;
                out[i] = outputs
                    .pop()
                    .expect("BERT graphs output the sentence embedding last")
                    .into_data();
            }
        }
        Ok(out)
    }
}

impl<R> StudentScorer for StudentObjective<R>
where
    R: Runtime + Sync + std::fmt::Debug,
    R::Exe: ReportsWork,
{
    fn space(&self) -> &SearchSpace {
        &self.space
    }

    fn score(&self, student: &StudentArch) -> Result<Evaluation> {
        let model = self.teacher.student(student)?;
        let embeddings = self.embed(&model)?;
        let fidelity = embeddings
            .iter()
            .zip(&self.teacher_embeddings)
            .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x * y) as f64).sum::<f64>())
            .sum::<f64>()
            / embeddings.len() as f64;
        let (train_x, test_x) = embeddings.split_at(self.train.len());
        let accuracy = probe_accuracy(train_x, &self.train_y, test_x, &self.test_y);
        let w = self.task.fidelity_weight;

        let seq = self.space.seq;
        let mut exe = self.predictor.prepare(&model.graph(seq)?, model.weights())?;
        let latency_ms = self.predictor.predict_exe(&exe)?.total_ms;
        let mut extra = BTreeMap::from([("fidelity".to_string(), fidelity)]);
        if self.measure {
            extra.insert("measured_ms".into(), measure(&mut exe, seq)?);
        }
        if !(accuracy.is_finite() && fidelity.is_finite() && latency_ms.is_finite()) {
            return Err(SearchError::Evaluation {
                candidate: format!("{student:?}"),
                detail: format!("non-finite result: accuracy {accuracy}, fidelity {fidelity}, latency {latency_ms}"),
            });
        }
        Ok(Evaluation {
            accuracy,
            score: (1.0 - w) * accuracy + w * fidelity,
            latency_ms,
            energy_mj: self.predictor.energy_mj(latency_ms)?,
            extra,
        })
    }
}

/// Median wall time of the candidate at `seq` tokens here, in ms.
fn measure(exe: &mut impl Executable, seq: usize) -> Result<f64> {
    let enc = Encoded {
        ids: (0..seq as u32).map(|i| 1000 + i).collect(),
        type_ids: vec![0; seq],
    };
    let inputs = MiniLm::inputs(&enc)?;
    exe.run(&inputs).map_err(backend)?;
    let mut ms: Vec<f64> = (0..MEASURE_RUNS)
        .map(|_| {
            let start = std::time::Instant::now();
            exe.run(&inputs).map(|_| start.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(backend)?;
    ms.sort_by(f64::total_cmp);
    Ok(ms[ms.len() / 2])
}
