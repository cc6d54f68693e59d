//! Graphs that tests across crates build the same way (dev-only: no library or binary depends
//! on this crate). Random weights and inputs are not here: benchmarks and calibration use them
//! too, so they live in `canao_interp::random`.

use canao_ir::builders::LinearArch;
use canao_ir::{Activation, Graph, Op, Sparsity, TensorType};

/// One linear layer `fc` on [tokens, k] -> [tokens, n] with the given weight structure and
/// epilogue; with `residual`, an input `r` [tokens, n] is added to its output. The unit every
/// backend's kernel tests compare on.
pub fn linear_graph(
    tokens: usize,
    k: usize,
    n: usize,
    s: Sparsity,
    act: Activation,
    residual: bool,
    bias: bool,
) -> Graph {
    let mut g = LinearArch {
        tokens,
        input: k,
        output: n,
        bias,
        act,
    }
    .build()
    .unwrap();
    g.set_sparsity("fc.w", s).unwrap();
    if residual {
        let y = g.outputs()[0];
        let r = g
            .add(
                Op::Input {
                    name: "r".into(),
                    ty: TensorType::f32(vec![tokens, n]),
                },
                &[],
            )
            .unwrap();
        let sum = g.add(Op::Add, &[y, r]).unwrap();
        g.set_outputs(vec![sum]).unwrap();
    }
    g
}
