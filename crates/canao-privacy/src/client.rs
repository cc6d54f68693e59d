//! A federated client: it opens the broadcast model with its key, trains on its own images,
//! and seals its sparsified update (the delta from the broadcast model, plus what error
//! feedback held back) for the enclave.

use canao_train::ImageClassification;

use crate::error::{PrivacyError, Rejection, Result};
use crate::layout::Layout;
use crate::local::LocalTraining;
use crate::seal::{Direction, Key};
use crate::topk::{Density, ErrorFeedback};
use crate::wire::Update;

#[derive(Debug)]
pub struct Client<'a> {
    pub id: u32,
    pub key: &'a Key,
    pub items: &'a [usize],
    pub feedback: &'a mut ErrorFeedback,
}

/// What every client trains with: the task, the model's layout and the local schedule.
#[derive(Debug, Clone, Copy)]
pub struct Training<'a> {
    pub task: &'a ImageClassification,
    pub layout: &'a Layout,
    pub local: &'a LocalTraining,
}

/// What one client did in a round.
#[derive(Debug)]
pub struct Upload {
    /// The sealed update, as it goes on the wire.
    pub sealed: Vec<u8>,
    pub train_loss: f32,
}

impl Client<'_> {
    /// Opens the model broadcast for round `round`: its flattened tensors and version.
    pub fn receive(
        &self,
        sealed: &[u8],
        round: u32,
        layout: &Layout,
    ) -> std::result::Result<(Vec<Vec<f32>>, u64), Rejection> {
        let (header, plaintext) = self.key.open(sealed)?;
        header.expect(Direction::Down, round)?;
        if header.client != self.id {
            return Err(Rejection::WrongClient {
                claimed: header.client,
                slot: self.id,
            });
        }
        let model = Update::decode(&plaintext, &layout.lens())?;
        Ok((model.parts.iter().map(|p| p.to_dense()).collect(), header.model))
    }

    /// One round: open `broadcast`, train locally, send the top-`density` update, sealed.
    pub fn round(
        &mut self,
        broadcast: &[u8],
        round: u32,
        training: Training<'_>,
        density: Density,
        seed: u64,
    ) -> Result<Upload> {
        let Training { task, layout, local } = training;
        let rejected = |rejection| PrivacyError::Rejected {
            client: self.id,
            round,
            rejection,
        };
        let (start, version) = self.receive(broadcast, round, layout).map_err(rejected)?;
        let start_weights = layout.weights(&start)?;
        let (trained, train_loss) = local.run(task, &start_weights, self.items, seed, (self.id, round))?;
        let delta = layout
            .flatten(&trained)?
            .into_iter()
            .zip(&start)
            .map(|(t, s)| t.iter().zip(s).map(|(a, b)| a - b).collect())
            .collect();
        let update = self.feedback.compress(delta, density, self.items.len() as u32);
        let sealed = self.key.seal(Direction::Up, self.id, round, version, &update.encode());
        Ok(Upload { sealed, train_loss })
    }
}
