//! Zeroth-order search over a continuous relaxation of the decision vector (ALGORITHMS.md §10):
//! each decision i becomes x_i in [0, 1], read as choice floor(x_i * c_i). The gradient of the
//! reward is estimated from q random directions,
//! g = (d / (mu q)) sum_i [f(x + mu u_i) - f(x)] u_i, with u_i uniform on the unit sphere,
//! and x takes a step of fixed length along g (the estimate's scale is unreliable on a
//! piecewise-constant objective, its direction less so).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Point, Strategy, check_told};
use crate::error::Result;

/// Directions per gradient estimate.
const Q: usize = 7;
/// Smoothing radius: large enough that a probe usually crosses a choice boundary.
const MU: f64 = 0.6;
/// Step length in x per iteration.
const STEP: f64 = 0.3;

#[derive(Debug)]
pub struct ZerothOrder {
    cardinalities: Vec<usize>,
    rng: ChaCha8Rng,
    x: Vec<f64>,
    /// The directions of the current estimate.
    directions: Vec<Vec<f64>>,
}

impl ZerothOrder {
    pub fn new(cardinalities: &[usize], seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = cardinalities.iter().map(|_| rng.random_range(0.0..1.0)).collect();
        Self {
            cardinalities: cardinalities.to_vec(),
            rng,
            x,
            directions: Vec::new(),
        }
    }

    fn point(&self, x: &[f64]) -> Point {
        x.iter()
            .zip(&self.cardinalities)
            .map(|(&v, &c)| ((v.clamp(0.0, 1.0) * c as f64) as usize).min(c - 1))
            .collect()
    }

    fn unit_direction(&mut self) -> Vec<f64> {
        // Normalised Gaussians are uniform on the sphere; Box-Muller for the Gaussians.
        let v: Vec<f64> = self
            .x
            .iter()
            .map(|_| {
                let (a, b): (f64, f64) = (self.rng.random_range(f64::EPSILON..1.0), self.rng.random());
                (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
            })
            .collect();
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-12);
        v.into_iter().map(|a| a / norm).collect()
    }
}

impl Strategy for ZerothOrder {
    /// The base point, then one probe per direction (Q + 1 points whatever `n` is).
    fn ask(&mut self, _n: usize) -> Vec<Point> {
        self.directions = (0..Q).map(|_| self.unit_direction()).collect();
        let mut points = vec![self.point(&self.x)];
        for u in &self.directions {
            let probe: Vec<f64> = self.x.iter().zip(u).map(|(x, u)| x + MU * u).collect();
            points.push(self.point(&probe));
        }
        points
    }

    fn tell(&mut self, results: &[(Point, f64)]) -> Result<()> {
        check_told(&self.cardinalities, results)?;
        let Some(((_, base), probes)) = results.split_first() else {
            return Ok(());
        };
        let d = self.x.len() as f64;
        let mut g = vec![0.0; self.x.len()];
        for ((_, f), u) in probes.iter().zip(&self.directions) {
            for (gi, ui) in g.iter_mut().zip(u) {
                *gi += d / (MU * Q as f64) * (f - base) * ui;
            }
        }
        let norm = g.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 0.0 {
            for (x, gi) in self.x.iter_mut().zip(&g) {
                *x = (*x + STEP * gi / norm).clamp(0.0, 1.0);
            }
        } else {
            // Every probe tied: jump to a random nearby point rather than stand still.
            let u = self.unit_direction();
            for (x, ui) in self.x.iter_mut().zip(&u) {
                *x = (*x + STEP * ui).clamp(0.0, 1.0);
            }
        }
        Ok(())
    }
}
