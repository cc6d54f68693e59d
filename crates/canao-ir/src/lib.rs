//! The graph IR: a closed set of ops over a petgraph DAG, parameters that may carry sparsity,
//! shape inference, cost, a text form, passes, builders, the backend seam and the work schema backends report.

pub mod builders;
mod cost;
mod dtype;
mod error;
mod graph;
mod inputs;
pub mod op;
pub mod pass;
mod runtime;
mod sparsity;
mod text;
mod weights;
mod work;

pub use cost::{Cost, GraphCost};
pub use dtype::{DType, MAX_ELEMENTS, TensorType};
pub use error::{IrError, Result};
pub use graph::{Graph, Node, NodeId, ParamSpec};
pub use inputs::{InputError, check_inputs};
pub use op::{Activation, Op, PoolKind, ShapeError};
pub use runtime::{Executable, Runtime, Schedule};
pub use sparsity::{BitMask, Sparsity};
pub use text::parse_graph;
pub use weights::{ParamValue, Weights};
pub use work::{KernelClass, ReportsWork, StepWork, StripHeight, UnknownClass, WeightFormat, Work};
