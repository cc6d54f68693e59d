//! The experiments the CLI runs, as plain functions: train a normal or robust model, attack its
//! test nodes, evaluate under a perturbation (evasion), retrain on it (poisoning).

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::adjacency::Adjacency;
use crate::attack::{AttackConfig, AttackMethod, Objective, attack};
use crate::dataset::Dataset;
use crate::gcn::Gcn;
use crate::robust::{RobustCost, pseudo_labels, robust_fit};
use crate::train::{EpochLog, TrainConfig, Trainer, evaluate};
use crate::{GnnError, Result};

/// How a model is trained: normally, or min-max against an attack. Written as its name
/// (`normal`, `robust-pgd`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Training {
    Normal,
    Robust(AttackMethod),
}

impl Training {
    pub fn name(&self) -> String {
        match self {
            Self::Normal => "normal".into(),
            Self::Robust(m) => format!("robust-{}", m.name()),
        }
    }
}

impl From<Training> for String {
    fn from(t: Training) -> String {
        t.name()
    }
}

impl TryFrom<String> for Training {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl std::str::FromStr for Training {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "normal" => Ok(Self::Normal),
            _ => s
                .strip_prefix("robust-")
                .and_then(|m| m.parse().ok())
                .map(Self::Robust)
                .ok_or_else(|| {
                    format!("unknown training `{s}`; one of normal, robust-pgd, robust-greedy, robust-zeroth-order")
                }),
        }
    }
}

/// A trained model with its curve and cost.
#[derive(Debug, Clone)]
pub struct Trained {
    pub model: Gcn,
    pub logs: Vec<EpochLog>,
    pub cost: RobustCost,
}

/// Trains a model of `training` kind on `data` (robust ones at `robust_flips` flips).
pub fn train(
    training: Training,
    data: &Dataset,
    config: &TrainConfig,
    attack_config: &AttackConfig,
    robust_flips: usize,
    seed: u64,
) -> Result<Trained> {
    let start = Instant::now();
    let adj = Adjacency::new(&data.graph);
    let mut trainer = Trainer::new(data, config.clone(), seed)?;
    match training {
        Training::Normal => {
            let logs = trainer.fit(data, &adj, |_| {});
            let cost = RobustCost {
                wall_s: start.elapsed().as_secs_f64(),
                inner_s: 0.0,
            };
            Ok(Trained {
                model: trainer.model,
                logs,
                cost,
            })
        }
        Training::Robust(method) => {
            // The inner attack's labels come from a normal model of the same seed.
            let mut normal = Trainer::new(data, config.clone(), seed)?;
            normal.fit(data, &adj, |_| {});
            let labels = pseudo_labels(&normal.model, data);
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
            let (logs, cost) = robust_fit(
                &mut trainer,
                data,
                &labels,
                method,
                attack_config,
                robust_flips,
                &mut rng,
                |_| {},
            );
            Ok(Trained {
                model: trainer.model,
                logs,
                cost,
            })
        }
    }
}

/// An attack's flips on the test nodes of `model` (white-box: the attacker knows their labels,
/// as in Xu et al. and DeepRobust) and the seconds it took.
pub fn attack_test_nodes(
    model: &Gcn,
    data: &Dataset,
    method: AttackMethod,
    config: &AttackConfig,
    flips: usize,
    seed: u64,
) -> (Vec<(usize, usize)>, f64) {
    let start = Instant::now();
    let objective = Objective::test_nodes(model, data);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let out = attack(method, config, &objective, flips, &mut rng);
    (out, start.elapsed().as_secs_f64())
}

/// Test accuracy of `model` with `flips` applied to the graph (evasion).
pub fn evasion_accuracy(model: &Gcn, data: &Dataset, flips: &[(usize, usize)]) -> Result<f64> {
    let graph = perturbed(data, flips)?.graph;
    Ok(evaluate(model, &Adjacency::new(&graph), data, &data.test))
}

/// Test accuracy of a normal model trained from scratch on the perturbed graph (poisoning).
pub fn poisoning_accuracy(data: &Dataset, config: &TrainConfig, flips: &[(usize, usize)], seed: u64) -> Result<f64> {
    let poisoned = perturbed(data, flips)?;
    let adj = Adjacency::new(&poisoned.graph);
    let mut trainer = Trainer::new(&poisoned, config.clone(), seed)?;
    trainer.fit(&poisoned, &adj, |_| {});
    Ok(evaluate(&trainer.model, &adj, &poisoned, &poisoned.test))
}

/// The dataset with a perturbation applied (a `flips.csv` read against it).
pub fn perturbed(data: &Dataset, flips: &[(usize, usize)]) -> Result<Dataset> {
    let mut out = data.clone();
    out.graph = data
        .graph
        .flipped(flips)
        .map_err(|e| GnnError::Shape(format!("perturbation: {e}")))?;
    Ok(out)
}
