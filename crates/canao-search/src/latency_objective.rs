//! The objective of architecture-only spaces (`bert-base.ron`), whose teacher ships no weights:
//! nothing can be scored for accuracy, so a student's score is its capacity, the share of the
//! teacher's encoder weights it keeps (heads, FFN neurons and block density counted), and the
//! search finds the largest student under the latency limit. Latency is predicted for the plan
//! the injected backend runs for the student, built with random weights.

use canao_ir::{ReportsWork, Runtime};
use canao_latency::PlanPredictor;
use canao_models::StudentArch;
use rand::SeedableRng;

use crate::error::Result;
use crate::objective::Evaluation;
use crate::space::SearchSpace;
use crate::student_objective::StudentScorer;

#[derive(Debug)]
pub struct LatencyObjective<R> {
    space: SearchSpace,
    predictor: PlanPredictor<R>,
}

impl<R> LatencyObjective<R> {
    pub fn new(space: SearchSpace, predictor: PlanPredictor<R>) -> Self {
        Self { space, predictor }
    }
}

/// Encoder weights a student keeps, as a share of its teacher's.
fn capacity(space: &SearchSpace, s: &StudentArch) -> f64 {
    let t = space.teacher_arch();
    let layer = |heads: usize, ffn: usize| (4 * t.hidden * heads * t.head_dim + 2 * t.hidden * ffn) as f64;
    let teacher: f64 = t.layers.iter().map(|l| layer(l.heads, l.ffn)).sum();
    let kept: f64 = s.layers.iter().map(|l| layer(l.heads, l.ffn) * l.density).sum();
    kept / teacher
}

impl<R> StudentScorer for LatencyObjective<R>
where
    R: Runtime + Sync + std::fmt::Debug,
    R::Exe: ReportsWork,
{
    fn space(&self) -> &SearchSpace {
        &self.space
    }

    fn score(&self, student: &StudentArch) -> Result<Evaluation> {
        let t = self.space.teacher_arch();
        // Seed 0 whatever the search seed: a student's prediction is a function of the student.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let (graph, weights) = student.random_model(&t, self.space.seq, &mut rng)?;
        let latency_ms = self.predictor.predict(&graph, &weights)?.total_ms;
        let c = capacity(&self.space, student);
        Ok(Evaluation {
            accuracy: c,
            score: c,
            latency_ms,
            energy_mj: self.predictor.energy_mj(latency_ms)?,
            extra: [("capacity".to_string(), c)].into(),
        })
    }
}
