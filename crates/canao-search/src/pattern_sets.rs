//! RT3's search of pattern sets (ALGORITHMS.md §4) as a search space: for every DVFS level and
//! every group of weights (an encoder layer's linears), `slots` picks among the layer's candidate
//! patterns. A point is the level-major list of those picks; every weight of a group uses the
//! same candidate indices, each drawn from its own values. The objective predicts each level's
//! model on the injected backend's plan, scores RT3's reward, and has the injected scorer train
//! the shared weights jointly under every level's sets when the choice meets every limit.

use std::collections::BTreeMap;

use canao_compress::{CandidateConfig, Candidates, assign_patterns, pattern_candidates};
use canao_ir::{BitMask, Graph, ReportsWork, Runtime, Sparsity, Weights};
use canao_latency::{DeviceProfile, Rt3Reward, energy_per_run, latency_per_level};
use serde::Serialize;

use crate::error::{Result, SearchError};
use crate::objective::{CandidateKey, Evaluation, Objective};

/// The per-level masks of a choice: for each level, each searched weight's pattern sparsity.
pub type LevelSparsity = Vec<BTreeMap<String, Sparsity>>;

/// Each level's accuracy (0..1, level order) after joint training: `selection` is what the
/// reward reads (a validation part), `held_out` a part the search never sees (a test part).
#[derive(Debug, Clone, PartialEq)]
pub struct LevelAccuracy {
    pub selection: Vec<f64>,
    pub held_out: Vec<f64>,
}

/// Trains the shared weights under every level's masks and says how accurate each level is.
pub trait JointScorer: Sync + std::fmt::Debug {
    fn accuracy_per_level(&self, levels: &LevelSparsity) -> Result<LevelAccuracy>;
}

/// The candidate patterns of every searched weight, and how points decode into pattern sets.
#[derive(Debug, Clone)]
pub struct PatternSpace {
    /// Weights that share one decision per level and slot, in decision order.
    groups: Vec<Vec<String>>,
    candidates: BTreeMap<String, Candidates>,
    shapes: BTreeMap<String, [usize; 2]>,
    levels: usize,
    slots: usize,
}

/// One decoded point: per level, per group, the distinct candidate indices picked (sorted, so
/// picks naming the same set in another order are the same choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice(pub Vec<Vec<Vec<usize>>>);

impl PatternSpace {
    /// Draws the candidates of every weight of `groups` (matrices of `weights`) at `sparsities`.
    pub fn new(
        weights: &Weights,
        groups: Vec<Vec<String>>,
        config: &CandidateConfig,
        sparsities: &[f64],
        levels: usize,
        slots: usize,
    ) -> Result<Self> {
        let config_error = |field: &str, detail: String| SearchError::Config {
            field: field.into(),
            detail,
        };
        if levels == 0 || slots == 0 || sparsities.is_empty() {
            return Err(config_error(
                "pattern space",
                format!(
                    "needs at least one level, slot and sparsity (got {levels}, {slots}, {})",
                    sparsities.len()
                ),
            ));
        }
        if groups.is_empty() || groups.iter().any(Vec::is_empty) {
            return Err(config_error(
                "groups",
                "needs at least one group, each naming a weight".into(),
            ));
        }
        let mut candidates = BTreeMap::new();
        let mut shapes = BTreeMap::new();
        for name in groups.iter().flatten() {
            let t = weights.dense(name)?;
            let &[rows, cols] = t.shape() else {
                return Err(config_error(
                    "groups",
                    format!("weight `{name}` has shape {:?}; pattern sets tile matrices", t.shape()),
                ));
            };
            let c = pattern_candidates(name, t.data(), [rows, cols], config, sparsities)?;
            candidates.insert(name.clone(), c);
            shapes.insert(name.clone(), [rows, cols]);
        }
        Ok(Self {
            groups,
            candidates,
            shapes,
            levels,
            slots,
        })
    }

    /// Candidates per weight: every decision's cardinality.
    pub fn choices(&self) -> usize {
        self.candidates.values().next().map_or(0, |c| c.patterns.len())
    }

    pub fn levels(&self) -> usize {
        self.levels
    }

    pub fn groups(&self) -> &[Vec<String>] {
        &self.groups
    }

    /// One cardinality per decision: levels x groups x slots, level-major.
    pub fn cardinalities(&self) -> Vec<usize> {
        vec![self.choices(); self.levels * self.groups.len() * self.slots]
    }

    pub fn decode(&self, point: &[usize]) -> Result<Choice> {
        let expected = self.cardinalities().len();
        if point.len() != expected || point.iter().any(|&c| c >= self.choices()) {
            return Err(SearchError::Point {
                point: point.to_vec(),
                detail: format!("needs {expected} picks, each below {}", self.choices()),
            });
        }
        let per_level = self.groups.len() * self.slots;
        Ok(Choice(
            point
                .chunks(per_level)
                .map(|level| {
                    level
                        .chunks(self.slots)
                        .map(|picks| {
                            let mut set = picks.to_vec();
                            set.sort_unstable();
                            set.dedup();
                            set
                        })
                        .collect()
                })
                .collect(),
        ))
    }

    /// Each level's pattern sparsity of every searched weight: its picked candidates, assigned
    /// tile by tile by the weight energy they keep.
    pub fn sparsity(&self, choice: &Choice, weights: &Weights) -> Result<LevelSparsity> {
        choice
            .0
            .iter()
            .map(|level| {
                let mut out = BTreeMap::new();
                for (group, picks) in self.groups.iter().zip(level) {
                    for name in group {
                        let c = &self.candidates[name];
                        let set: Vec<BitMask> = picks.iter().map(|&i| c.patterns[i].clone()).collect();
                        let data = weights.dense(name)?.data();
                        out.insert(
                            name.clone(),
                            assign_patterns(name, data, self.shapes[name], c.block, &set)?,
                        );
                    }
                }
                Ok(out)
            })
            .collect()
    }

    /// The candidates a choice names, with their sparsity and importance map, for the log.
    pub fn describe(&self, choice: &Choice) -> serde_json::Value {
        let any = self.candidates.values().next().expect("a space has candidates");
        let pick = |i: usize| serde_json::json!({"candidate": i, "sparsity": any.sparsity(i), "map": i % any.maps});
        serde_json::Value::Array(
            choice
                .0
                .iter()
                .map(|level| {
                    level
                        .iter()
                        .map(|picks| picks.iter().map(|&i| pick(i)).collect::<serde_json::Value>())
                        .collect()
                })
                .collect(),
        )
    }
}

/// The searched model: its encoder graph (what the latency model predicts), its weights, and
/// RT3's reward on a device profile with DVFS levels.
#[derive(Debug)]
pub struct PatternObjective<'a, R> {
    pub space: PatternSpace,
    pub graph: Graph,
    pub weights: &'a Weights,
    pub runtime: R,
    pub profile: DeviceProfile,
    pub reward: Rt3Reward,
    pub scorer: &'a dyn JointScorer,
}

impl<R> PatternObjective<'_, R>
where
    R: Runtime + Clone + Sync + std::fmt::Debug,
    R::Exe: ReportsWork,
{
    /// Latency of each level's model at that level, in ms.
    pub fn latency_per_level(&self, levels: &LevelSparsity) -> Result<Vec<f64>> {
        levels
            .iter()
            .enumerate()
            .map(|(l, sparsity)| {
                let mut g = self.graph.clone();
                for (name, s) in sparsity {
                    g.set_sparsity(name, s.clone())?;
                }
                Ok(latency_per_level(self.runtime.clone(), &self.profile, &g, self.weights)?[l])
            })
            .collect()
    }
}

impl<R> Objective for PatternObjective<'_, R>
where
    R: Runtime + Clone + Sync + std::fmt::Debug,
    R::Exe: ReportsWork,
{
    fn key(&self, point: &[usize]) -> Result<CandidateKey> {
        let choice = self.space.decode(point)?;
        let levels: Vec<String> = choice
            .0
            .iter()
            .map(|level| {
                let groups: Vec<String> = level.iter().map(|picks| format!("{picks:?}")).collect();
                groups.join(";")
            })
            .collect();
        Ok(CandidateKey(levels.join(" | ")))
    }

    fn describe(&self, point: &[usize]) -> Result<serde_json::Value> {
        Ok(self.space.describe(&self.space.decode(point)?))
    }

    fn evaluate(&self, point: &[usize]) -> Result<Evaluation> {
        let choice = self.space.decode(point)?;
        let levels = self.space.sparsity(&choice, self.weights)?;
        let latency = self.latency_per_level(&levels)?;
        let accuracy = if Rt3Reward::meets_limits(&self.profile, &latency) {
            Some(self.scorer.accuracy_per_level(&levels)?)
        } else {
            None
        };
        let score = self.reward.score(
            &self.profile,
            &latency,
            accuracy.as_ref().map(|a| a.selection.as_slice()),
        )?;
        let mut extra = BTreeMap::new();
        for (l, level) in self.profile.dvfs.iter().enumerate() {
            extra.insert(format!("latency_ms_{}", level.name), latency[l]);
            if let Some(a) = &accuracy {
                extra.insert(format!("accuracy_{}", level.name), a.selection[l]);
                extra.insert(format!("held_out_accuracy_{}", level.name), a.held_out[l]);
            }
        }
        extra.insert("runs_per_battery".into(), score.runs as f64);
        extra.insert("trained".into(), f64::from(u8::from(accuracy.is_some())));
        extra.insert(
            "monotonic".into(),
            f64::from(u8::from(score.monotonic.unwrap_or(false))),
        );
        Ok(Evaluation {
            accuracy: score.weighted_accuracy.unwrap_or(0.0),
            score: score.reward,
            latency_ms: latency[0],
            energy_mj: energy_per_run(&self.profile, 0, latency[0])? * 1e3,
            extra,
        })
    }
}
