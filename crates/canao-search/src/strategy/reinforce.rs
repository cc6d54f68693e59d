//! REINFORCE over a recurrent controller, the scheme of ENAS, RT3 and CANAO. An LSTM emits one
//! categorical choice per decision, autoregressively: the input at step t is a learned embedding
//! of the choice made at step t-1 (a start token at t = 0), and a per-decision linear head turns
//! the hidden state into that decision's logits. `ask` samples from the policy; `tell` takes one
//! Adam step on the policy gradient -mean_i (R_i - b) log p(point_i), with b an exponential moving
//! average of the batch mean reward.
//!
//! As in ENAS, the logits are bounded (C tanh(l / T)) so that no choice's probability collapses
//! to zero within a few steps. Unbounded, the policy mostly settled one choice away from the
//! optimum of the synthetic test in `tests/reinforce.rs`: 2 to 7 of 12 seeds found it in 400
//! evaluations, with or without an entropy bonus (weights 1e-3 to 0.1); bounded, 59 of 60 did.
//!
//! Determinism: sampling draws from a ChaCha8 stream, the parameters are drawn from the same
//! seeded stream rather than burn's device RNG (which is global to the backend and so shared
//! with any other strategy built concurrently), and the flex backend runs on the calling thread.

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{log_softmax, softmax, tanh};
use burn::tensor::{Device, Int, Tensor, TensorData, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Point, Strategy, check_told};
use crate::error::Result;

/// LSTM hidden size (and embedding width): RT3's figure.
const HIDDEN: usize = 35;
/// Parameters start uniform in [-INIT, INIT], as in ENAS.
const INIT: f32 = 0.1;
/// Adam learning rate: tuned on the synthetic objective in `tests/reinforce.rs`.
const LEARNING_RATE: f64 = 0.035;
/// Decay of the moving-average baseline.
const BASELINE_DECAY: f64 = 0.9;
/// Logits are bounded to [-LOGIT_BOUND, LOGIT_BOUND] ...
const LOGIT_BOUND: f32 = 2.0;
/// ... through tanh(l / LOGIT_TEMPERATURE): ENAS's tanh constant and temperature (its constant
/// is 2.5; 2.0 found the optimum on more seeds of the synthetic test).
const LOGIT_TEMPERATURE: f32 = 5.0;

/// The policy network.
#[derive(Module, Debug)]
struct Controller {
    /// Row 0 is the start token; the choices of decision i follow at `1 + offsets[i]`.
    embedding: Embedding,
    lstm: Lstm,
    /// One head per decision, to that decision's cardinality.
    heads: Vec<Linear>,
}

impl Controller {
    fn new(cardinalities: &[usize], rng: &mut ChaCha8Rng, device: &Device) -> Self {
        // Zeros stand in until `SeededInit` overwrites them: burn's random initialisers would
        // draw from its global RNG.
        let zeros = Initializer::Zeros;
        // The last decision's choice is never fed back, so it needs no embedding.
        let vocabulary = 1 + cardinalities[..cardinalities.len() - 1].iter().sum::<usize>();
        let controller = Self {
            embedding: EmbeddingConfig::new(vocabulary, HIDDEN)
                .with_initializer(zeros.clone())
                .init(device),
            lstm: LstmConfig::new(HIDDEN, HIDDEN, true)
                .with_initializer(zeros.clone())
                .init(device),
            heads: cardinalities
                .iter()
                .map(|&c| {
                    LinearConfig::new(HIDDEN, c)
                        .with_initializer(zeros.clone())
                        .init(device)
                })
                .collect(),
        };
        controller.map(&mut SeededInit { rng })
    }

    /// Runs the LSTM over `tokens` ([batch, steps]) from `state` (zeros when `None`); returns the
    /// hidden state of every step ([batch, steps, HIDDEN]) and the final state.
    fn run(&self, tokens: Tensor<2, Int>, state: Option<LstmState<2>>) -> (Tensor<3>, LstmState<2>) {
        self.lstm.forward(self.embedding.forward(tokens), state)
    }

    /// The bounded logits of decision `i` ([batch, c_i]) from a hidden state ([batch, HIDDEN]).
    fn logits(&self, i: usize, hidden: Tensor<2>) -> Tensor<2> {
        tanh(self.heads[i].forward(hidden) / LOGIT_TEMPERATURE) * LOGIT_BOUND
    }
}

/// Overwrites every float parameter with uniform draws from the strategy's seeded stream, in the
/// module's (fixed) traversal order.
struct SeededInit<'a> {
    rng: &'a mut ChaCha8Rng,
}

impl ModuleMapper for SeededInit<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|tensor| {
            let shape = tensor.shape();
            let values: Vec<f32> = (0..shape.num_elements())
                .map(|_| self.rng.random_range(-INIT..=INIT))
                .collect();
            Tensor::from_data(TensorData::new(values, shape), &tensor.device()).require_grad()
        })
    }
}

pub struct Reinforce {
    cardinalities: Vec<usize>,
    /// Embedding row of choice 0 of each decision, less the start token's row.
    offsets: Vec<usize>,
    rng: ChaCha8Rng,
    /// The flex (CPU) device with autodiff: `tell` needs gradients, `ask` samples from a
    /// `valid()` copy without them.
    device: Device,
    controller: Controller,
    optimizer: ModuleOptimizer,
    /// None until the first `tell`, which sets it to that batch's mean reward.
    baseline: Option<f64>,
}

impl std::fmt::Debug for Reinforce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reinforce")
            .field("cardinalities", &self.cardinalities)
            .field("baseline", &self.baseline)
            .finish_non_exhaustive()
    }
}

impl Reinforce {
    pub fn new(cardinalities: &[usize], seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let device = Device::flex().autodiff();
        let controller = Controller::new(cardinalities, &mut rng, &device);
        let offsets = cardinalities
            .iter()
            .scan(0, |next, &c| {
                let offset = *next;
                *next += c;
                Some(offset)
            })
            .collect();
        Self {
            cardinalities: cardinalities.to_vec(),
            offsets,
            rng,
            device,
            controller,
            optimizer: AdamConfig::new().init(),
            baseline: None,
        }
    }

    /// Samples `n` points one decision at a time, feeding each sampled choice back in.
    fn sample(&mut self, n: usize) -> Vec<Point> {
        let controller = self.controller.valid();
        let device = self.device.clone().without_autodiff();
        let mut points = vec![Vec::with_capacity(self.cardinalities.len()); n];
        let mut input = vec![0; n];
        let mut state = None;
        for (i, &c) in self.cardinalities.iter().enumerate() {
            let (hidden, next) = controller.run(indices(input, n, 1, &device), state);
            state = Some(next);
            let probabilities = softmax(controller.logits(i, hidden.squeeze_dim(1)), 1)
                .into_data()
                .try_into_vec_as::<f32>()
                .expect("probabilities read back from the CPU as f32");
            input = points
                .iter_mut()
                .zip(probabilities.chunks_exact(c))
                .map(|(point, row)| {
                    let choice = draw(row, &mut self.rng);
                    point.push(choice);
                    token(&self.offsets, i, choice)
                })
                .collect();
        }
        points
    }
}

/// The embedding row that feeds `choice` of decision `i` to step i + 1.
fn token(offsets: &[usize], i: usize, choice: usize) -> i64 {
    (1 + offsets[i] + choice) as i64
}

/// Integer indices of shape [rows, columns].
fn indices(values: Vec<i64>, rows: usize, columns: usize, device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(values, [rows, columns]), device)
}

/// Inverse-CDF draw from one row of probabilities.
fn draw(probabilities: &[f32], rng: &mut ChaCha8Rng) -> usize {
    let mut u = rng.random::<f32>();
    for (choice, &p) in probabilities.iter().enumerate() {
        if u < p {
            return choice;
        }
        u -= p;
    }
    // Rounding left u just above the total: the last choice.
    probabilities.len() - 1
}

impl Strategy for Reinforce {
    fn ask(&mut self, n: usize) -> Vec<Point> {
        self.sample(n.max(1))
    }

    fn tell(&mut self, results: &[(Point, f64)]) -> Result<()> {
        check_told(&self.cardinalities, results)?;
        // A non-finite reward (a failed evaluation scored -inf, say) has no usable gradient.
        let results: Vec<_> = results.iter().filter(|(_, r)| r.is_finite()).collect();
        if results.is_empty() {
            return Ok(());
        }
        let batch = results.len();
        let steps = self.cardinalities.len();
        let mean = results.iter().map(|(_, r)| r).sum::<f64>() / batch as f64;
        let baseline = self.baseline.unwrap_or(mean);

        // Teacher forcing: the inputs are the start token then each point's own choices.
        let inputs = results
            .iter()
            .flat_map(|(point, _)| {
                std::iter::once(0).chain(
                    point[..steps - 1]
                        .iter()
                        .enumerate()
                        .map(|(i, &p)| token(&self.offsets, i, p)),
                )
            })
            .collect();
        let (hidden, _) = self.controller.run(indices(inputs, batch, steps, &self.device), None);
        let mut log_prob: Tensor<2> = Tensor::zeros([batch, 1], &self.device);
        for i in 0..steps {
            let logits = self
                .controller
                .logits(i, hidden.clone().slice(s![.., i, ..]).squeeze_dim(1));
            let chosen = results.iter().map(|(point, _)| point[i] as i64).collect();
            log_prob = log_prob + log_softmax(logits, 1).gather(1, indices(chosen, batch, 1, &self.device));
        }
        let advantage = results.iter().map(|(_, r)| (r - baseline) as f32).collect();
        let advantage = Tensor::<2>::from_data(TensorData::new(advantage, [batch, 1]), &self.device);
        let loss = -(advantage * log_prob).mean();

        let gradients = GradientsParams::from_grads(loss.backward(), &self.controller);
        self.controller = self.optimizer.step(LEARNING_RATE, self.controller.clone(), gradients);
        self.baseline = Some(match self.baseline {
            None => mean,
            Some(b) => BASELINE_DECAY * b + (1.0 - BASELINE_DECAY) * mean,
        });
        Ok(())
    }
}
