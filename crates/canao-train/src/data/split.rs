//! Seeded train / validation / test splits by index.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// The seed every split is drawn with: a constant, so a split never depends on a run's seed.
pub const SPLIT_SEED: u64 = 0x5EED_51A7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitPart {
    Train,
    Validation,
    Test,
}

/// 0-based indices into a data set's items, per part; disjoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
}

impl Split {
    /// A seeded shuffle of `0..n` cut into `validation` and `test` items and the rest for
    /// training (each part sorted, so `split.json` reads in file order).
    pub fn shuffled(n: usize, validation: usize, test: usize) -> Result<Self> {
        if validation + test >= n {
            return Err(TrainError::Split(format!(
                "{validation} validation + {test} test items leave nothing to train on out of {n}"
            )));
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(SPLIT_SEED));
        let sorted = |s: &[usize]| {
            let mut v = s.to_vec();
            v.sort_unstable();
            v
        };
        Ok(Self {
            validation: sorted(&order[..validation]),
            test: sorted(&order[validation..validation + test]),
            train: sorted(&order[validation + test..]),
        })
    }

    pub fn part(&self, part: SplitPart) -> &[usize] {
        match part {
            SplitPart::Train => &self.train,
            SplitPart::Validation => &self.validation,
            SplitPart::Test => &self.test,
        }
    }

    /// Keeps the first `limit` items of each part that has more (for quick runs); a limit larger
    /// than a part is an error, so a run never silently trains on less than asked.
    pub fn limited(mut self, part: SplitPart, limit: Option<usize>) -> Result<Self> {
        let Some(limit) = limit else { return Ok(self) };
        let items = match part {
            SplitPart::Train => &mut self.train,
            SplitPart::Validation => &mut self.validation,
            SplitPart::Test => &mut self.test,
        };
        if limit == 0 || limit > items.len() {
            return Err(TrainError::Split(format!(
                "asked for {limit} {part:?} items, the split has {} (1..={} allowed)",
                items.len(),
                items.len()
            )));
        }
        items.truncate(limit);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_fixed_disjoint_and_complete() {
        let a = Split::shuffled(100, 10, 20).unwrap();
        assert_eq!(a, Split::shuffled(100, 10, 20).unwrap());
        assert_eq!((a.train.len(), a.validation.len(), a.test.len()), (70, 10, 20));
        let mut all: Vec<usize> = [&a.train[..], &a.validation, &a.test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert!(Split::shuffled(10, 5, 5).is_err());
        assert!(a.clone().limited(SplitPart::Train, Some(71)).is_err());
        assert_eq!(a.limited(SplitPart::Train, Some(7)).unwrap().train.len(), 7);
    }
}
