//! Top-k sparsification of a client's model update, with error feedback: what is not sent this
//! round stays in the client's residual and is added to its next update, so no part of an
//! update is lost, only delayed.
//!
//! The selection is layer-wise: every tensor keeps `ceil(density * len)` entries (at least one).
//! A global top-k over the whole model would starve the small tensors (biases, the first
//! convolution), whose entries are of another scale than the fully connected layers'.

use crate::error::{Result, config};
use crate::wire::{Part, Update};

/// Share of entries sent, in (0, 1]; 1 sends every tensor dense.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Density(f64);

impl Density {
    pub fn new(k: f64) -> Result<Self> {
        if k > 0.0 && k <= 1.0 {
            Ok(Self(k))
        } else {
            Err(config("density", format!("is {k}, must be in (0, 1]")))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }

    pub fn is_dense(self) -> bool {
        self.0 >= 1.0
    }

    /// Entries kept of a tensor of `len`.
    pub fn keep(self, len: usize) -> usize {
        ((self.0 * len as f64).ceil() as usize).clamp(len.min(1), len)
    }

    /// Which entries of one tensor an update at this density sends: the selection
    /// `ErrorFeedback::compress` makes.
    pub fn mask(self, values: &[f32]) -> Vec<bool> {
        let mut sent = vec![self.is_dense(); values.len()];
        if !self.is_dense() {
            largest(values, self.keep(values.len()))
                .into_iter()
                .for_each(|i| sent[i as usize] = true);
        }
        sent
    }
}

/// A client's residual: per tensor, what it has not sent yet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorFeedback {
    pub residual: Vec<Vec<f32>>,
}

impl ErrorFeedback {
    /// A zero residual for tensors of `lens`.
    pub fn zeros(lens: &[usize]) -> Self {
        Self {
            residual: lens.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// Adds the residual to `delta`, sends the largest-magnitude `density` share of each tensor
    /// of the sum and keeps the rest as the new residual. `sent + new residual` equals
    /// `delta + old residual` entry by entry.
    pub fn compress(&mut self, delta: Vec<Vec<f32>>, density: Density, samples: u32) -> Update {
        assert_eq!(
            delta.len(),
            self.residual.len(),
            "an update has one delta per tensor of the model"
        );
        let parts = delta
            .into_iter()
            .zip(&mut self.residual)
            .map(|(mut acc, residual)| {
                for (a, r) in acc.iter_mut().zip(residual.iter()) {
                    *a += r;
                }
                if density.is_dense() {
                    residual.iter_mut().for_each(|r| *r = 0.0);
                    return Part::Dense(acc);
                }
                let kept = largest(&acc, density.keep(acc.len()));
                let values = kept.iter().map(|&i| acc[i as usize]).collect();
                for &i in &kept {
                    acc[i as usize] = 0.0;
                }
                let len = acc.len();
                *residual = acc;
                Part::Sparse {
                    len,
                    indices: kept,
                    values,
                }
            })
            .collect();
        Update { samples, parts }
    }
}

/// Indices of the `k` largest-magnitude entries, ascending; ties go to the lower index, so the
/// choice is deterministic.
fn largest(values: &[f32], k: usize) -> Vec<u32> {
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    let by_magnitude = |a: &u32, b: &u32| {
        let (x, y) = (values[*a as usize].abs(), values[*b as usize].abs());
        y.total_cmp(&x).then(a.cmp(b))
    };
    if k < order.len() {
        order.select_nth_unstable_by(k, by_magnitude);
        order.truncate(k);
    }
    order.sort_unstable();
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_largest_and_defers_the_rest() {
        let mut fb = ErrorFeedback::zeros(&[5]);
        let update = fb.compress(vec![vec![0.1, -3.0, 0.2, 2.0, -0.05]], Density::new(0.4).unwrap(), 7);
        assert_eq!(update.samples, 7);
        assert_eq!(
            update.parts[0],
            Part::Sparse {
                len: 5,
                indices: vec![1, 3],
                values: vec![-3.0, 2.0]
            }
        );
        assert_eq!(fb.residual[0], vec![0.1, 0.0, 0.2, 0.0, -0.05]);
        // Next round the residual rides along: 0.2 + 0.25 now beats the fresh entries.
        let update = fb.compress(vec![vec![0.0, 0.1, 0.25, 0.0, 0.0]], Density::new(0.2).unwrap(), 7);
        assert_eq!(
            update.parts[0],
            Part::Sparse {
                len: 5,
                indices: vec![2],
                values: vec![0.25f32 + 0.2]
            }
        );
    }

    #[test]
    fn density_bounds() {
        assert!(Density::new(0.0).is_err());
        assert!(Density::new(1.5).is_err());
        assert!(Density::new(f64::NAN).is_err());
        let d = Density::new(0.01).unwrap();
        assert_eq!(d.keep(10), 1);
        assert_eq!(d.keep(1000), 10);
        assert_eq!(d.keep(0), 0);
    }
}
