//! Placeholder replaced by the REINFORCE controller (branch `reinforce`).

use super::{Point, Random, Strategy};

#[derive(Debug)]
pub struct Reinforce(Random);

impl Reinforce {
    pub fn new(cardinalities: &[usize], seed: u64) -> Self {
        Self(Random::new(cardinalities, seed))
    }
}

impl Strategy for Reinforce {
    fn ask(&mut self, n: usize) -> Vec<Point> {
        self.0.ask(n)
    }
    fn tell(&mut self, results: &[(Point, f64)]) {
        self.0.tell(results)
    }
}
