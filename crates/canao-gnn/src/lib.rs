//! Robust GCNs: sparse GCN training, edge-flip attacks and min-max robust training
//! (ALGORITHMS.md §10). Everything works on sparse adjacencies and candidate pairs; no dense
//! n x n matrix is ever built.

pub mod adjacency;
pub mod attack;
pub mod dataset;
pub mod edge_grad;
pub mod error;
pub mod experiment;
pub mod features;
pub mod flips;
pub mod gcn;
pub mod graph;
pub mod io;
pub mod ir;
pub mod loss;
pub mod robust;
pub mod synth;
pub mod train;

pub use adjacency::Adjacency;
pub use dataset::Dataset;
pub use error::{GnnError, Result};
pub use gcn::{Dims, Gcn};
pub use graph::Graph;
pub use train::{TrainConfig, Trainer};
