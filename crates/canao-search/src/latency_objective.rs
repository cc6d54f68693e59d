//! The objective of architecture-only spaces (`bert-base.ron`), whose teacher ships no weights:
//! nothing can be scored for accuracy, so a student's score is its capacity, the share of the
//! teacher's encoder weights it keeps (heads, FFN neurons and block density counted), and the
//! search finds the largest student under the latency limit. Latency is predicted for the plan
//! the CPU backend runs for the student, built with random weights.

use canao_latency::measure::Workload;
use canao_latency::{DeviceProfile, LatencyModel, energy_per_run};
use canao_nn::StudentArch;

use crate::error::Result;
use crate::objective::Evaluation;
use crate::space::SearchSpace;
use crate::student_objective::StudentScorer;

#[derive(Debug)]
pub struct LatencyObjective {
    space: SearchSpace,
    profile: DeviceProfile,
    level: usize,
    model: LatencyModel,
}

impl LatencyObjective {
    pub fn new(space: SearchSpace, profile: DeviceProfile, level: usize) -> Result<Self> {
        let model = LatencyModel::new(&profile, level)?;
        Ok(Self {
            space,
            profile,
            level,
            model,
        })
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

impl StudentScorer for LatencyObjective {
    fn space(&self) -> &SearchSpace {
        &self.space
    }

    fn score(&self, student: &StudentArch) -> Result<Evaluation> {
        let t = self.space.teacher_arch();
        let prepared = Workload::student(self.space.name.clone(), &t, student, self.space.seq, 0)?
            .prepare(self.model.threads())?;
        let latency_ms = self.model.predict(&prepared.work)?.total_ms;
        let c = capacity(&self.space, student);
        Ok(Evaluation {
            accuracy: c,
            score: c,
            latency_ms,
            energy_mj: energy_per_run(&self.profile, self.level, latency_ms)? * 1e3,
            extra: [("capacity".to_string(), c)].into(),
        })
    }
}
