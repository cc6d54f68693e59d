use serde::{Deserialize, Serialize};

use crate::builders::arch_err;
use crate::dtype::TensorType;
use crate::error::Result;
use crate::graph::{Graph, ParamSpec};
use crate::op::{Activation, Op};

/// One linear layer, `x` [tokens, input] -> [tokens, output], weight `fc.w` and optional bias
/// `fc.b` with a fused activation: the unit that kernels are benchmarked, calibrated and
/// hand-checked on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearArch {
    pub tokens: usize,
    pub input: usize,
    pub output: usize,
    #[serde(default)]
    pub bias: bool,
    #[serde(default = "identity")]
    pub act: Activation,
}

fn identity() -> Activation {
    Activation::Identity
}

impl LinearArch {
    pub fn build(&self) -> Result<Graph> {
        for (f, v) in [("tokens", self.tokens), ("input", self.input), ("output", self.output)] {
            if v == 0 {
                return arch_err(f, "must be positive");
            }
        }
        let mut g = Graph::new("linear");
        let weight = g.add_param("fc.w", ParamSpec::dense(vec![self.output, self.input]))?;
        let bias = if self.bias {
            Some(g.add_param("fc.b", ParamSpec::dense(vec![self.output]))?)
        } else {
            None
        };
        let x = g.add(
            Op::Input {
                name: "x".into(),
                ty: TensorType::f32(vec![self.tokens, self.input]),
            },
            &[],
        )?;
        let y = g.add(
            Op::Linear {
                weight,
                bias,
                act: self.act,
                residual: false,
            },
            &[x],
        )?;
        g.set_outputs(vec![y])?;
        Ok(g)
    }
}
