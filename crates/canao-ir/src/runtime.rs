use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use canao_tensor::Tensor;

use crate::graph::Graph;
use crate::weights::Weights;

/// Knobs a backend's lowering honours. Backends ignore knobs that do not apply to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Worker threads; 1 runs on the calling thread.
    pub threads: usize,
}

impl Default for Schedule {
    fn default() -> Self {
        Self { threads: 1 }
    }
}

/// A backend: turns a graph and its weights into something that runs.
pub trait Runtime {
    type Exe: Executable;
    type Error: std::error::Error + Send + Sync + 'static;

    fn prepare(&self, graph: &Graph, weights: &Weights, schedule: &Schedule) -> Result<Self::Exe, Self::Error>;
}

/// A prepared graph. Inputs are bound by the graph's input names; outputs come in the graph's
/// output order.
pub trait Executable {
    type Error: std::error::Error + Send + Sync + 'static;

    fn run(&mut self, inputs: &BTreeMap<String, Tensor>) -> Result<Vec<Tensor>, Self::Error>;

    /// Wall time of `reps` runs, one entry each (callers warm up and take the median).
    fn time(&mut self, inputs: &BTreeMap<String, Tensor>, reps: usize) -> Result<Vec<Duration>, Self::Error> {
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                self.run(inputs)?;
                Ok(t.elapsed())
            })
            .collect()
    }
}
