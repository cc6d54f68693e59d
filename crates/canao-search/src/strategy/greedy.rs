//! Greedy local search: from the best point so far, try its one-decision neighbours in a random
//! order and move to the first batch's best that improves; at a local optimum (no neighbour
//! better) restart from a random point.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{Point, Strategy, check_told, uniform};
use crate::error::Result;

#[derive(Debug)]
pub struct Greedy {
    cardinalities: Vec<usize>,
    rng: ChaCha8Rng,
    /// The point being improved and its reward; None before the first result and after a restart.
    current: Option<(Point, f64)>,
    /// Neighbours of `current` not yet tried.
    untried: Vec<Point>,
}

impl Greedy {
    pub fn new(cardinalities: &[usize], seed: u64) -> Self {
        Self {
            cardinalities: cardinalities.to_vec(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            current: None,
            untried: Vec::new(),
        }
    }

    fn neighbours(&mut self, p: &[usize]) -> Vec<Point> {
        let mut out: Vec<Point> = (0..p.len())
            .flat_map(|d| {
                (0..self.cardinalities[d]).filter(move |&c| c != p[d]).map(move |c| {
                    let mut q = p.to_vec();
                    q[d] = c;
                    q
                })
            })
            .collect();
        out.shuffle(&mut self.rng);
        out
    }
}

impl Strategy for Greedy {
    fn ask(&mut self, n: usize) -> Vec<Point> {
        if self.current.is_none() || self.untried.is_empty() {
            // A start (or restart): the current point is forgotten, the runner keeps the best.
            self.current = None;
            return vec![uniform(&self.cardinalities, &mut self.rng)];
        }
        let take = n.max(1).min(self.untried.len());
        self.untried.split_off(self.untried.len() - take)
    }

    fn tell(&mut self, results: &[(Point, f64)]) -> Result<()> {
        check_told(&self.cardinalities, results)?;
        let Some(best) = results.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
            return Ok(());
        };
        if self.current.as_ref().is_none_or(|c| best.1 > c.1) {
            self.current = Some(best.clone());
            self.untried = self.neighbours(&best.0);
        }
        Ok(())
    }
}
