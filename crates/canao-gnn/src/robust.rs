//! Min-max robust training (ALGORITHMS.md §10): min over weights of the training loss under the
//! worst perturbation within budget, the inner maximisation done by one of the attacks against
//! the current model. The inner attack targets every node, with the training labels where known
//! and a normally trained model's predictions elsewhere: attacking only the training nodes
//! teaches the model nothing about the test nodes' neighbourhoods (the transductive pitfall of
//! Gosch et al. 2023). Each epoch:
//! - PGD: `inner_steps` (default one) warm-started projected gradient steps on the relaxed perturbation (Xu et al.'s
//!   alternating scheme), and the weight step on the relaxed graph; on graphs with more pairs
//!   than a block, the candidates are resampled each epoch (PR-BCD);
//! - greedy: the budget's flips of highest gradient gain at the current model, in one round,
//!   and the weight step on the flipped graph;
//! - zeroth-order: `inner_steps` warm-started estimate-and-steps over a fixed query-chosen pool, and the
//!   weight step on the relaxed graph;
//! - the search-* attacks: a whole (query-bounded) search each epoch, and the weight step on
//!   the flipped graph (costly: `search_queries` forward passes an epoch).

use std::time::Instant;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::adjacency::Adjacency;
use crate::attack::relaxed::Relaxed;
use crate::attack::zeroth::{pool, zeroth_step};
use crate::attack::{AttackConfig, AttackMethod, Candidates, Objective, attack};
use crate::dataset::Dataset;
use crate::train::{EpochLog, Trainer};

/// What robust training cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustCost {
    pub wall_s: f64,
    /// Of which in the inner maximisation.
    pub inner_s: f64,
}

/// Trains `trainer` robustly against `method` at `flips` flips, the inner attack's labels being
/// `pseudo_labels` (one per node); returns the epochs and the cost.
#[allow(clippy::too_many_arguments)]
pub fn robust_fit(
    trainer: &mut Trainer,
    data: &Dataset,
    pseudo_labels: &[usize],
    method: AttackMethod,
    config: &AttackConfig,
    flips: usize,
    rng: &mut impl Rng,
    on_epoch: impl FnMut(&EpochLog),
) -> (Vec<EpochLog>, RobustCost) {
    let start = Instant::now();
    let clean = Adjacency::new(&data.graph);
    let nodes: Vec<usize> = (0..data.nodes()).collect();
    let mut state: Option<Relaxed> = None;
    let mut inner_s = 0.0;
    let logs = trainer.fit_with(
        data,
        &clean,
        |model| {
            let t = Instant::now();
            let obj = Objective {
                model,
                features: &data.features,
                graph: &data.graph,
                nodes: &nodes,
                labels: pseudo_labels.to_vec(),
            };
            let adj = inner_max(method, config, &obj, flips, &mut state, rng);
            inner_s += t.elapsed().as_secs_f64();
            Some(adj)
        },
        on_epoch,
    );
    let cost = RobustCost {
        wall_s: start.elapsed().as_secs_f64(),
        inner_s,
    };
    (logs, cost)
}

fn inner_max(
    method: AttackMethod,
    config: &AttackConfig,
    obj: &Objective,
    flips: usize,
    state: &mut Option<Relaxed>,
    rng: &mut impl Rng,
) -> Adjacency {
    match method {
        AttackMethod::Pgd => {
            let relaxed = state.get_or_insert_with(|| Relaxed::new(Candidates::new(obj.graph, config.block, rng)));
            for _ in 0..config.inner_steps.max(1) {
                let (_, grad) = obj.relaxed_grad(&relaxed.candidates, &relaxed.s);
                relaxed.ascend(&grad, config.pgd_lr, flips);
            }
            let adj = relaxed.adjacency(obj.graph);
            relaxed.resample(obj.graph, config.block, rng);
            adj
        }
        AttackMethod::Greedy | AttackMethod::SearchGreedy | AttackMethod::SearchZerothOrder => {
            let one_round = AttackConfig {
                greedy_rounds: 1,
                ..config.clone()
            };
            let flipped = attack(method, &one_round, obj, flips, rng);
            Adjacency::new(&obj.graph.flipped(&flipped).expect("attacks flip distinct pairs"))
        }
        AttackMethod::ZerothOrder => {
            let relaxed = state.get_or_insert_with(|| Relaxed::new(pool(config, obj, flips, rng)));
            for _ in 0..config.inner_steps.max(1) {
                zeroth_step(config, obj, relaxed, flips, rng);
            }
            relaxed.adjacency(obj.graph)
        }
    }
}

/// Training labels where known, else the predictions of `model` over the clean graph.
pub fn pseudo_labels(model: &crate::gcn::Gcn, data: &Dataset) -> Vec<usize> {
    let pred = crate::loss::predictions(
        &model.logits(&Adjacency::new(&data.graph), &data.features),
        data.classes,
    );
    let mut labels = pred;
    for &i in &data.train {
        labels[i] = data.labels[i].expect("training nodes are labelled");
    }
    labels
}
