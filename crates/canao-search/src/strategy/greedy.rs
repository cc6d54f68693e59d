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
    /// Neighbours of `current` not yet tried, as indices into the enumeration of `neighbour`:
    /// a space of many decisions with many choices has too many neighbours to hold as points.
    untried: Vec<usize>,
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

    /// The neighbour indices of a point, in a random order.
    fn neighbours(&mut self) -> Vec<usize> {
        let count: usize = self.cardinalities.iter().map(|c| c - 1).sum();
        let mut out: Vec<usize> = (0..count).collect();
        out.shuffle(&mut self.rng);
        out
    }

    /// The `k`-th one-decision neighbour of `p`: decisions in order, each with its other choices
    /// in increasing order.
    fn neighbour(&self, p: &[usize], mut k: usize) -> Point {
        let mut q = p.to_vec();
        for (d, &c) in self.cardinalities.iter().enumerate() {
            if k < c - 1 {
                q[d] = if k < p[d] { k } else { k + 1 };
                return q;
            }
            k -= c - 1;
        }
        unreachable!("neighbour index within the count")
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
        let picked = self.untried.split_off(self.untried.len() - take);
        let current = &self.current.as_ref().expect("checked above").0;
        picked.into_iter().map(|k| self.neighbour(current, k)).collect()
    }

    fn tell(&mut self, results: &[(Point, f64)]) -> Result<()> {
        check_told(&self.cardinalities, results)?;
        let Some(best) = results.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
            return Ok(());
        };
        if self.current.as_ref().is_none_or(|c| best.1 > c.1) {
            self.current = Some(best.clone());
            self.untried = self.neighbours();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After a result, the proposals are every one-decision neighbour of it, each once.
    #[test]
    fn proposes_each_neighbour_once() {
        let cards = [3, 1, 4];
        let mut g = Greedy::new(&cards, 5);
        let start = g.ask(1).remove(0);
        g.tell(&[(start.clone(), 1.0)]).unwrap();
        let mut seen = g.ask(100);
        seen.sort();
        let mut want: Vec<Point> = Vec::new();
        for (d, &c) in cards.iter().enumerate() {
            for choice in (0..c).filter(|&x| x != start[d]) {
                let mut q = start.clone();
                q[d] = choice;
                want.push(q);
            }
        }
        want.sort();
        assert_eq!(seen, want);
    }
}
