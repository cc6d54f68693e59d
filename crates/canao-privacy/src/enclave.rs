//! The aggregator's trust boundary. Only the enclave holds the keys that open client updates
//! and only it sees them in the clear; what leaves it is the model (sealed per client) and the
//! aggregate it releases for evaluation. Real SGX is outside this machine: [`InProcessEnclave`]
//! keeps the same boundary as a Rust type in the same process.

use std::collections::BTreeSet;

use canao_ir::Weights;

use crate::error::{Rejection, Result};
use crate::layout::{Layout, digest};
use crate::seal::{Direction, Header, Keys};
use crate::wire::{Part, Update};

pub trait Enclave {
    /// Opens round `round` on the current model: updates are expected from `clients` only.
    fn begin_round(&mut self, round: u32, clients: &[u32]);
    /// The current model sealed for `client`.
    fn broadcast(&self, client: u32) -> Vec<u8>;
    /// Opens and checks one sealed update that arrived on `slot`'s channel; an accepted one
    /// joins the round's aggregate.
    fn submit(&mut self, slot: u32, sealed: &[u8]) -> std::result::Result<(), Rejection>;
    /// Applies FedAvg (the sample-weighted mean of the accepted updates) to the model and
    /// returns how many updates were accepted; with none, the model stays as it was.
    fn finish_round(&mut self) -> Result<usize>;
    /// The model the enclave releases (for evaluation and the run's checkpoint).
    fn model(&self) -> &Weights;
}

/// An enclave in this process: the keys, the model and the round's running sum.
#[derive(Debug)]
pub struct InProcessEnclave {
    keys: Keys,
    layout: Layout,
    model: Weights,
    flat: Vec<Vec<f32>>,
    version: u64,
    round: u32,
    expected: BTreeSet<u32>,
    accepted: BTreeSet<u32>,
    sum: Vec<Vec<f64>>,
    samples: f64,
}

impl InProcessEnclave {
    pub fn new(keys: Keys, model: Weights) -> Result<Self> {
        let layout = Layout::of(&model)?;
        let flat = layout.flatten(&model)?;
        let sum = layout.lens().iter().map(|&n| vec![0.0; n]).collect();
        Ok(Self {
            version: digest(&layout, &flat),
            keys,
            layout,
            model,
            flat,
            round: 0,
            expected: BTreeSet::new(),
            accepted: BTreeSet::new(),
            sum,
            samples: 0.0,
        })
    }

    /// The digest of the current model, which updates must name.
    pub fn version(&self) -> u64 {
        self.version
    }

    fn check(&self, slot: u32, sealed: &[u8]) -> std::result::Result<Update, Rejection> {
        let key = self.keys.get(slot).ok_or(Rejection::NotSampled(slot))?;
        let (header, plaintext) = key.open(sealed)?;
        header.expect(Direction::Up, self.round)?;
        if !self.expected.contains(&slot) {
            return Err(Rejection::NotSampled(slot));
        }
        if self.accepted.contains(&slot) {
            return Err(Rejection::Replayed);
        }
        if header.model != self.version {
            return Err(Rejection::StaleModel {
                got: header.model,
                want: self.version,
            });
        }
        Update::decode(&plaintext, &self.layout.lens())
    }
}

impl Enclave for InProcessEnclave {
    fn begin_round(&mut self, round: u32, clients: &[u32]) {
        self.round = round;
        self.expected = clients.iter().copied().collect();
        self.accepted.clear();
        self.sum.iter_mut().for_each(|s| s.iter_mut().for_each(|x| *x = 0.0));
        self.samples = 0.0;
    }

    fn broadcast(&self, client: u32) -> Vec<u8> {
        let key = self.keys.get(client).expect("broadcasts go to the run's clients");
        let message = Update {
            samples: 0,
            parts: self.flat.iter().cloned().map(Part::Dense).collect(),
        };
        key.seal(Direction::Down, client, self.round, self.version, &message.encode())
    }

    fn submit(&mut self, slot: u32, sealed: &[u8]) -> std::result::Result<(), Rejection> {
        // The client the message says it is from, not yet authenticated: which key to try.
        let claimed = Header::parse(sealed)?.client;
        if claimed != slot {
            // Authenticate under the claimed client's key first: a message that is not genuinely
            // that client's is tampered, one that is but came through another channel is moved.
            // A claimed client without a key cannot have sealed it: it does not authenticate.
            self.keys.get(claimed).ok_or(Rejection::Tampered)?.open(sealed)?;
            return Err(Rejection::WrongClient { claimed, slot });
        }
        let update = self.check(slot, sealed)?;
        let weight = f64::from(update.samples.max(1));
        for (part, acc) in update.parts.iter().zip(&mut self.sum) {
            part.add_scaled(acc, weight);
        }
        self.samples += weight;
        self.accepted.insert(slot);
        Ok(())
    }

    fn finish_round(&mut self) -> Result<usize> {
        if self.accepted.is_empty() {
            return Ok(0);
        }
        for (w, s) in self.flat.iter_mut().zip(&self.sum) {
            for (x, d) in w.iter_mut().zip(s) {
                *x += (d / self.samples) as f32;
            }
        }
        self.model = self.layout.weights(&self.flat)?;
        self.version = digest(&self.layout, &self.flat);
        Ok(self.accepted.len())
    }

    fn model(&self) -> &Weights {
        &self.model
    }
}
