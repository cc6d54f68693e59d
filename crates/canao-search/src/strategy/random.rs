//! Random search: independent uniform points; the baseline every other strategy must beat.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Point, Strategy, check_told, uniform};
use crate::error::Result;

#[derive(Debug)]
pub struct Random {
    cardinalities: Vec<usize>,
    rng: ChaCha8Rng,
}

impl Random {
    pub fn new(cardinalities: &[usize], seed: u64) -> Self {
        Self {
            cardinalities: cardinalities.to_vec(),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Strategy for Random {
    fn ask(&mut self, n: usize) -> Vec<Point> {
        (0..n.max(1))
            .map(|_| uniform(&self.cardinalities, &mut self.rng))
            .collect()
    }

    fn tell(&mut self, results: &[(Point, f64)]) -> Result<()> {
        check_told(&self.cardinalities, results)
    }
}
