//! Regularised (ageing) evolution (Real et al., AmoebaNet): a fixed-size population; each child
//! mutates one decision of the best of a random tournament, and the oldest member, not the worst,
//! leaves, which keeps the search from clinging to a lucky early point.

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Point, Strategy, check_told, uniform};
use crate::error::Result;

const POPULATION: usize = 20;
const TOURNAMENT: usize = 5;

#[derive(Debug)]
pub struct Evolution {
    cardinalities: Vec<usize>,
    rng: ChaCha8Rng,
    population: VecDeque<(Point, f64)>,
    /// Random points handed out so far.
    seeded: usize,
}

impl Evolution {
    pub fn new(cardinalities: &[usize], seed: u64) -> Self {
        Self {
            cardinalities: cardinalities.to_vec(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            population: VecDeque::new(),
            seeded: 0,
        }
    }

    fn child(&mut self) -> Point {
        let best = (0..TOURNAMENT)
            .map(|_| &self.population[self.rng.random_range(0..self.population.len())])
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("tournament is not empty");
        let mut child = best.0.clone();
        let mutable: Vec<usize> = (0..child.len()).filter(|&d| self.cardinalities[d] > 1).collect();
        if let Some(&d) = mutable.get(self.rng.random_range(0..mutable.len().max(1))) {
            // Any other choice of that decision, uniformly.
            let shift = self.rng.random_range(1..self.cardinalities[d]);
            child[d] = (child[d] + shift) % self.cardinalities[d];
        }
        child
    }
}

impl Strategy for Evolution {
    fn ask(&mut self, n: usize) -> Vec<Point> {
        (0..n.max(1))
            .map(|_| {
                // The first POPULATION points are random; children need a told population.
                if self.seeded < POPULATION || self.population.is_empty() {
                    self.seeded += 1;
                    uniform(&self.cardinalities, &mut self.rng)
                } else {
                    self.child()
                }
            })
            .collect()
    }

    fn tell(&mut self, results: &[(Point, f64)]) -> Result<()> {
        check_told(&self.cardinalities, results)?;
        for r in results {
            self.population.push_back(r.clone());
            if self.population.len() > POPULATION {
                self.population.pop_front();
            }
        }
        Ok(())
    }
}
