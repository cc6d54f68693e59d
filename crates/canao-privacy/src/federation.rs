//! Federated averaging with sealed, sparsified updates, run side by side with dense FedAvg on
//! the same clients, partition, sampling and local seeds. Each round: the enclave seals the model
//! for every sampled client, each trains locally and seals its top-k update, the enclave opens,
//! checks and averages them, and the released model is tested. A simulated network adversary can
//! add a tampered, a replayed, an old-round and a misrouted message each round, to show they are
//! refused and counted while the round goes on.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::module::Module;
use canao_ir::Weights;
use canao_train::ImageClassification;
use canao_train::data::SplitPart;
use canao_train::learner::Learner;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Training};
use crate::enclave::{Enclave, InProcessEnclave};
use crate::error::{RejectionKind, Result, config};
use crate::layout::Layout;
use crate::local::LocalTraining;
use crate::partition::Partition;
use crate::seal::Keys;
use crate::topk::{Density, ErrorFeedback};

/// A run's settings (written to the run folder as resolved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlConfig {
    pub clients: usize,
    pub rounds: u32,
    /// Share of clients sampled each round (at least one).
    pub sample: f64,
    pub partition: Partition,
    pub local: LocalTraining,
    /// Share of each tensor's entries a client sends in the sparse arm.
    pub density: Density,
    /// Also run dense FedAvg as the baseline, in the same rounds.
    pub baseline: bool,
    /// Inject bad messages each round (see the module docs).
    pub adversary: bool,
    pub seed: u64,
}

impl FlConfig {
    pub fn validate(&self) -> Result<()> {
        if self.clients == 0 {
            return Err(config("clients", "must be at least 1"));
        }
        if self.rounds == 0 {
            return Err(config("rounds", "must be at least 1"));
        }
        if !(self.sample > 0.0 && self.sample <= 1.0) {
            return Err(config("sample", format!("is {}, must be in (0, 1]", self.sample)));
        }
        self.partition.validate()?;
        self.local.validate()
    }

    /// The arms the run trains: the sparse one, and dense FedAvg when asked for (a density of 1
    /// is the dense arm alone).
    pub fn arms(&self) -> Vec<Arm> {
        let mut arms = Vec::new();
        if !self.density.is_dense() {
            arms.push(Arm::Sparse);
        }
        if self.baseline || self.density.is_dense() {
            arms.push(Arm::Dense);
        }
        arms
    }

    /// The clients taking part in `round`, ascending.
    pub fn sampled(&self, round: u32) -> Vec<u32> {
        let n = ((self.sample * self.clients as f64).round() as usize).clamp(1, self.clients);
        let mut all: Vec<u32> = (0..self.clients as u32).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5A3_D1E);
        rng.set_stream(u64::from(round));
        all.shuffle(&mut rng);
        let mut chosen = all[..n].to_vec();
        chosen.sort_unstable();
        chosen
    }

    fn local_seed(&self, round: u32, client: u32) -> u64 {
        self.seed ^ (u64::from(round) << 32) ^ u64::from(client).wrapping_mul(0x9E37_79B9)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arm {
    /// Top-k updates with error feedback.
    Sparse,
    /// Every update sent whole: FedAvg.
    Dense,
}

impl Arm {
    pub fn name(self) -> &'static str {
        match self {
            Arm::Sparse => "sparse",
            Arm::Dense => "dense",
        }
    }
}

/// One arm's round, a line of the run's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub round: u32,
    pub arm: Arm,
    pub test_accuracy: f64,
    pub train_loss: f32,
    pub clients: usize,
    pub accepted: usize,
    pub rejected: BTreeMap<RejectionKind, u32>,
    /// Sealed bytes: the genuine uploads (the adversary's are not counted) and the broadcasts.
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub wall_s: f64,
}

/// One arm's federation: its enclave, every client's residual, and the last genuine upload
/// (which the adversary replays a round later).
#[derive(Debug)]
pub struct ArmState {
    pub arm: Arm,
    pub enclave: InProcessEnclave,
    pub feedback: Vec<ErrorFeedback>,
    pub last_upload: Option<(u32, Vec<u8>)>,
}

/// Everything a run needs besides its state.
#[derive(Debug)]
pub struct Federation<'a> {
    pub config: &'a FlConfig,
    pub task: &'a ImageClassification,
    pub parts: &'a [Vec<usize>],
    pub keys: &'a Keys,
    pub layout: Layout,
}

impl<'a> Federation<'a> {
    pub fn new(
        config: &'a FlConfig,
        task: &'a ImageClassification,
        parts: &'a [Vec<usize>],
        keys: &'a Keys,
        start: &Weights,
    ) -> Result<Self> {
        config.validate()?;
        if parts.len() != config.clients || keys.len() != config.clients {
            return Err(config_err(parts.len(), keys.len(), config.clients));
        }
        Ok(Self {
            config,
            task,
            parts,
            keys,
            layout: Layout::of(start)?,
        })
    }

    /// A fresh arm from the initial model.
    pub fn fresh(&self, arm: Arm, start: &Weights) -> Result<ArmState> {
        Ok(ArmState {
            arm,
            enclave: InProcessEnclave::new(self.keys.clone(), start.clone())?,
            feedback: (0..self.config.clients)
                .map(|_| ErrorFeedback::zeros(&self.layout.lens()))
                .collect(),
            last_upload: None,
        })
    }

    /// Runs `round` for one arm; `on_client` is told after each client has trained.
    pub fn round(&self, state: &mut ArmState, round: u32, on_client: &mut dyn FnMut(u32)) -> Result<RoundRecord> {
        let started = Instant::now();
        let sampled = self.config.sampled(round);
        let density = match state.arm {
            Arm::Sparse => self.config.density,
            Arm::Dense => Density::new(1.0)?,
        };
        let training = Training {
            task: self.task,
            layout: &self.layout,
            local: &self.config.local,
        };
        state.enclave.begin_round(round, &sampled);
        let mut record = RoundRecord {
            round,
            arm: state.arm,
            test_accuracy: 0.0,
            train_loss: 0.0,
            clients: sampled.len(),
            accepted: 0,
            rejected: BTreeMap::new(),
            bytes_up: 0,
            bytes_down: 0,
            wall_s: 0.0,
        };
        let mut uploads = Vec::new();
        for &c in &sampled {
            let broadcast = state.enclave.broadcast(c);
            record.bytes_down += broadcast.len() as u64;
            let mut client = Client {
                id: c,
                key: self.keys.get(c).expect("one key per client"),
                items: &self.parts[c as usize],
                feedback: &mut state.feedback[c as usize],
            };
            let upload = client.round(&broadcast, round, training, density, self.config.local_seed(round, c))?;
            record.bytes_up += upload.sealed.len() as u64;
            record.train_loss += upload.train_loss / sampled.len() as f32;
            if let Err(r) = state.enclave.submit(c, &upload.sealed) {
                *record.rejected.entry(r.kind()).or_default() += 1;
            }
            uploads.push((c, upload.sealed));
            on_client(c);
        }
        if self.config.adversary {
            for (slot, message) in adversary_messages(&uploads, state.last_upload.as_ref()) {
                if let Err(r) = state.enclave.submit(slot, &message) {
                    *record.rejected.entry(r.kind()).or_default() += 1;
                }
            }
        }
        state.last_upload = uploads.into_iter().next();
        record.accepted = state.enclave.finish_round()?;
        record.test_accuracy = self.test_accuracy(state.enclave.model())?;
        record.wall_s = started.elapsed().as_secs_f64();
        Ok(record)
    }

    /// Runs every round not yet done in `out` (resuming from its checkpoint when `resume` and
    /// one exists), saving after each round; `on_client` hears (arm, round, client) after each
    /// client trains, `on_round` the whole log after each round. Returns the log and the arms.
    pub fn run(
        &self,
        start: &Weights,
        out: &std::path::Path,
        resume: bool,
        on_client: &mut dyn FnMut(Arm, u32, u32),
        on_round: &mut dyn FnMut(&[RoundRecord]) -> Result<()>,
    ) -> Result<(Vec<RoundRecord>, Vec<ArmState>)> {
        let restored = if resume { crate::state::load(out, self)? } else { None };
        let (first, mut records, mut arms) = match restored {
            Some(r) => (r.next_round, r.records, r.arms),
            None => {
                let arms = self
                    .config
                    .arms()
                    .into_iter()
                    .map(|a| self.fresh(a, start))
                    .collect::<Result<_>>()?;
                (0, Vec::new(), arms)
            }
        };
        for round in first..self.config.rounds {
            for state in &mut arms {
                let arm = state.arm;
                records.push(self.round(state, round, &mut |c| on_client(arm, round, c))?);
            }
            crate::state::save(out, self, round + 1, &records, &arms)?;
            on_round(&records)?;
        }
        Ok((records, arms))
    }

    /// Test accuracy of `weights` on the task's test part.
    pub fn test_accuracy(&self, weights: &Weights) -> Result<f64> {
        let model = self.task.load(weights)?;
        Ok(self.task.accuracy(&model.valid(), SplitPart::Test))
    }
}

fn config_err(parts: usize, keys: usize, clients: usize) -> crate::error::PrivacyError {
    config(
        "clients",
        format!("{clients} clients, but {parts} data parts and {keys} keys"),
    )
}

/// What the network adversary sends in a round, as (channel, bytes): the first client's update
/// with one ciphertext byte flipped, the same update again, last round's update of a client, and
/// the first client's update sent down the second client's channel.
fn adversary_messages(uploads: &[(u32, Vec<u8>)], last_round: Option<&(u32, Vec<u8>)>) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let Some((first, genuine)) = uploads.first() else {
        return out;
    };
    let mut tampered = genuine.clone();
    *tampered.last_mut().expect("sealed messages are not empty") ^= 0x01;
    out.push((*first, tampered));
    out.push((*first, genuine.clone()));
    if let Some((c, old)) = last_round {
        out.push((*c, old.clone()));
    }
    if let Some((second, _)) = uploads.get(1) {
        out.push((*second, genuine.clone()));
    }
    out
}
