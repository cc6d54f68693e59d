//! How far a dummy gradient is from the received one: DLG's squared Euclidean distance, or
//! SAPAG's Gaussian-kernel distance, with the gradient of each with respect to the dummy gradient
//! (the tangent the victim's second pass carries).
//!
//! SAPAG, as the brief states it: per layer l, D_l = 1 - exp(-d_l / (2 sigma_l)), where d_l is the
//! mean squared difference over the layer's entries and sigma_l the variance of the received
//! gradient's entries in that layer; layers are weighted Q_l = 1 / (l + 1), l counted from the
//! input. A layer here is a weight tensor with its bias. Only entries `mask` keeps are compared
//! (the attacker of a top-k sparsified update sees which entries were sent).
//!
//! SAPAG annealed (canao's variant, not the brief's): the same kernel, but each layer's sigma
//! starts where the kernel is not flat at the attacker's random start (sigma_l = d_l(start) / 2,
//! so the kernel reads e^-1 there) and falls geometrically to the received variance over the
//! attack's stages. With sigma at the variance from the start, d_l is many times 2 sigma_l and the
//! kernel's gradient vanishes: the search never leaves its start.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{PrivacyError, config};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attack {
    /// Deep Leakage from Gradients: squared Euclidean distance.
    Dlg,
    /// SAPAG: Gaussian-kernel distance, per layer.
    Sapag,
    /// SAPAG with each layer's sigma annealed from the start's distance down to the variance.
    #[serde(rename = "sapag-annealed")]
    SapagAnnealed,
}

/// Stages of an annealed attack (each restarts the optimiser at a smaller sigma).
pub const ANNEAL_STAGES: usize = 4;

impl Attack {
    /// How many stages the attack's search runs in.
    pub fn stages(self) -> usize {
        match self {
            Attack::Dlg | Attack::Sapag => 1,
            Attack::SapagAnnealed => ANNEAL_STAGES,
        }
    }
}

impl fmt::Display for Attack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Attack::Dlg => "dlg",
            Attack::Sapag => "sapag",
            Attack::SapagAnnealed => "sapag-annealed",
        })
    }
}

impl FromStr for Attack {
    type Err = PrivacyError;
    fn from_str(s: &str) -> Result<Self, PrivacyError> {
        match s {
            "dlg" => Ok(Attack::Dlg),
            "sapag" => Ok(Attack::Sapag),
            "sapag-annealed" => Ok(Attack::SapagAnnealed),
            _ => Err(config("attack", format!("{s:?} is not dlg, sapag or sapag-annealed"))),
        }
    }
}

/// The received gradient, which of its entries were sent, and the distance to match it with.
#[derive(Debug, Clone)]
pub struct Target {
    attack: Attack,
    grads: Vec<Vec<f64>>,
    mask: Vec<Vec<bool>>,
    /// Per layer (tensor pair): the variance of the kept received entries (SAPAG's sigma).
    sigma: Vec<f64>,
}

/// Guards sigma against a layer whose kept entries are all equal (or absent).
const SIGMA_FLOOR: f64 = 1e-12;

impl Target {
    /// `grads` and `mask` hold one vector per tensor, weight then bias for each layer.
    pub fn new(attack: Attack, grads: Vec<Vec<f64>>, mask: Vec<Vec<bool>>) -> Self {
        let sigma = grads
            .chunks(2)
            .zip(mask.chunks(2))
            .map(|(g, m)| {
                let kept: Vec<f64> = kept(g, m).collect();
                let n = kept.len().max(1) as f64;
                let mean = kept.iter().sum::<f64>() / n;
                (kept.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).max(SIGMA_FLOOR)
            })
            .collect();
        Self {
            attack,
            grads,
            mask,
            sigma,
        }
    }

    /// Every entry sent.
    pub fn dense(attack: Attack, grads: Vec<Vec<f64>>) -> Self {
        let mask = grads.iter().map(|g| vec![true; g.len()]).collect();
        Self::new(attack, grads, mask)
    }

    pub fn attack(&self) -> Attack {
        self.attack
    }

    /// Layer `layer`'s squared difference between `dummy` and the received gradient over the
    /// kept entries, and how many entries that is.
    fn layer_sq(&self, dummy: &[Vec<f64>], layer: usize) -> (f64, usize) {
        let (mut sq, mut n) = (0.0, 0usize);
        let tensors = dummy.iter().zip(&self.grads).zip(&self.mask).skip(2 * layer).take(2);
        for ((dummy, grads), mask) in tensors {
            for ((d, g), &m) in dummy.iter().zip(grads).zip(mask) {
                if m {
                    sq += (d - g).powi(2);
                    n += 1;
                }
            }
        }
        (sq, n)
    }

    /// The target of stage `stage` of `stages` of an annealed attack that started where the
    /// dummy gradient was `start`: each layer's sigma is the received variance times
    /// `r_l^(1 - stage / (stages - 1))`, with `r_l` the factor that puts the start at e^-1 of the
    /// kernel (at least 1); the last stage is plain SAPAG.
    pub fn annealed(&self, start: &[Vec<f64>], stage: usize, stages: usize) -> Target {
        let left = if stages > 1 {
            1.0 - stage as f64 / (stages - 1) as f64
        } else {
            0.0
        };
        let sigma = (0..self.sigma.len())
            .map(|l| {
                let (sq, n) = self.layer_sq(start, l);
                let ratio = (sq / n.max(1) as f64 / (2.0 * self.sigma[l])).max(1.0);
                self.sigma[l] * ratio.powf(left.max(0.0))
            })
            .collect();
        Target { sigma, ..self.clone() }
    }

    /// The distance of `dummy` and its gradient with respect to `dummy`.
    pub fn distance(&self, dummy: &[Vec<f64>]) -> (f64, Vec<Vec<f64>>) {
        let mut grad: Vec<Vec<f64>> = dummy.iter().map(|t| vec![0.0; t.len()]).collect();
        let mut total = 0.0;
        for layer in 0..self.sigma.len() {
            let tensors = 2 * layer..(2 * layer + 2).min(dummy.len());
            let (sq, n) = self.layer_sq(dummy, layer);
            // d(value)/d(dummy entry) = scale * (dummy - received)
            let (value, scale) = match self.attack {
                Attack::Dlg => (sq, 2.0),
                Attack::Sapag | Attack::SapagAnnealed => {
                    let q = 1.0 / (layer + 1) as f64;
                    let mean_sq = sq / n.max(1) as f64;
                    let kernel = (-mean_sq / (2.0 * self.sigma[layer])).exp();
                    (q * (1.0 - kernel), q * kernel / (self.sigma[layer] * n.max(1) as f64))
                }
            };
            total += value;
            for t in tensors {
                for (((o, d), g), &m) in grad[t].iter_mut().zip(&dummy[t]).zip(&self.grads[t]).zip(&self.mask[t]) {
                    if m {
                        *o = scale * (d - g);
                    }
                }
            }
        }
        (total, grad)
    }
}

/// The entries of `g` that `m` keeps.
fn kept<'a>(g: &'a [Vec<f64>], m: &'a [Vec<bool>]) -> impl Iterator<Item = f64> + 'a {
    g.iter()
        .zip(m)
        .flat_map(|(g, m)| g.iter().zip(m))
        .filter_map(|(&v, &m)| m.then_some(v))
}
