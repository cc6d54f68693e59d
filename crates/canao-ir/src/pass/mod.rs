//! Graph-to-graph rewrites, run as an explicit, printable list.

mod dce;
mod fuse;

use std::fmt;

use crate::error::Result;
use crate::graph::Graph;

pub use dce::DeadNodeElimination;
pub use fuse::FuseLinearEpilogue;

/// One rewrite. Returns how many places it changed; the graph must still validate afterwards.
pub trait Pass {
    fn name(&self) -> &'static str;
    fn run(&self, graph: &mut Graph) -> Result<usize>;
}

/// An ordered list of passes.
pub struct Pipeline {
    passes: Vec<Box<dyn Pass>>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pipeline[{self}]")
    }
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.passes.iter().map(|p| p.name()).collect();
        write!(f, "{}", names.join(" -> "))
    }
}

impl Pipeline {
    pub fn new(passes: Vec<Box<dyn Pass>>) -> Self {
        Self { passes }
    }

    /// What every backend runs before lowering: fuse epilogues, then drop what is unused.
    pub fn standard() -> Self {
        Self::new(vec![Box::new(FuseLinearEpilogue), Box::new(DeadNodeElimination)])
    }

    /// Runs each pass in order and validates after each; returns (pass, changes) per pass.
    pub fn run(&self, graph: &mut Graph) -> Result<Vec<(&'static str, usize)>> {
        let mut report = Vec::with_capacity(self.passes.len());
        for p in &self.passes {
            let n = p.run(graph)?;
            graph.validate()?;
            report.push((p.name(), n));
        }
        Ok(report)
    }
}
