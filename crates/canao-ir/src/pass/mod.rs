//! Graph-to-graph rewrites, run as an explicit, printable list.

mod dce;
mod rewrite;

use std::fmt;

use crate::error::Result;
use crate::graph::Graph;
use crate::op::{AttentionHeads, FuseAttention, LinearAct, LinearBias, ResidualLinear};

pub use dce::DeadNodeElimination;
pub use rewrite::{Patch, Rewriter, Rule};

/// What a pass changed: how many places, by rule (a plain pass reports under its own name).
pub type Changes = Vec<(&'static str, usize)>;

/// One rewrite. The graph must still validate afterwards.
pub trait Pass {
    fn name(&self) -> &'static str;
    fn run(&self, graph: &mut Graph) -> Result<Changes>;
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

/// Folds a bias add and then an activation that follow a linear layer into its epilogue
/// (`linear -> bias_add -> gelu` becomes one `linear {act=gelu}`).
pub fn linear_epilogue() -> Rewriter {
    Rewriter::new("fuse-linear-epilogue", vec![Box::new(LinearBias), Box::new(LinearAct)])
}

/// The fusions every kernel backend computes as one kernel: a residual add in a linear layer's
/// epilogue, and an attention block (scores, softmax, context, with its head split and merge).
pub fn kernel_fusions() -> Rewriter {
    Rewriter::new(
        "fuse-kernels",
        vec![
            Box::new(ResidualLinear),
            Box::new(FuseAttention),
            Box::new(AttentionHeads),
        ],
    )
}

impl Pipeline {
    pub fn new(passes: Vec<Box<dyn Pass>>) -> Self {
        Self { passes }
    }

    /// The graph in canonical form, with nothing a single backend needs: fold linear epilogues,
    /// then drop what is unused. Export and weight inheritance work on this form.
    pub fn standard() -> Self {
        Self::new(vec![Box::new(linear_epilogue()), Box::new(DeadNodeElimination)])
    }

    /// What the kernel backends (CPU, WGSL) run before mapping ops to kernels: the standard
    /// passes, then the kernel fusions.
    pub fn kernels() -> Self {
        Self::new(vec![
            Box::new(linear_epilogue()),
            Box::new(kernel_fusions()),
            Box::new(DeadNodeElimination),
        ])
    }

    /// Runs each pass in order and validates after each; returns what each rule or pass changed.
    pub fn run(&self, graph: &mut Graph) -> Result<Changes> {
        let mut report = Vec::new();
        for p in &self.passes {
            report.extend(p.run(graph)?);
            graph.validate()?;
        }
        Ok(report)
    }
}
