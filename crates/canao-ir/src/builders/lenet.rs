use serde::{Deserialize, Serialize};

use crate::builders::arch_err;
use crate::builders::bert::linear;
use crate::dtype::TensorType;
use crate::error::Result;
use crate::graph::{Graph, NodeId, ParamSpec};
use crate::op::{Activation, Op, PoolKind};

/// LeNet-5 (LeCun et al. 1998) in its common modern form: two 5x5 convolutions with ReLU and
/// 2x2 max pooling, then three linear layers. The first convolution pads by 2 so 28x28 inputs
/// keep their size, as in the usual MNIST version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeNetArch {
    #[serde(default = "one")]
    pub batch: usize,
    /// [channels, height, width] of one image.
    pub input: [usize; 3],
    pub conv1: usize,
    pub conv2: usize,
    pub fc1: usize,
    pub fc2: usize,
    pub classes: usize,
}

fn one() -> usize {
    1
}

impl Default for LeNetArch {
    fn default() -> Self {
        Self {
            batch: 1,
            input: [1, 28, 28],
            conv1: 6,
            conv2: 16,
            fc1: 120,
            fc2: 84,
            classes: 10,
        }
    }
}

impl LeNetArch {
    /// Input `image` f32[batch, C, H, W]; output logits [batch, classes].
    pub fn build(&self) -> Result<Graph> {
        for (f, v) in [
            ("batch", self.batch),
            ("conv1", self.conv1),
            ("conv2", self.conv2),
            ("fc1", self.fc1),
            ("fc2", self.fc2),
            ("classes", self.classes),
        ] {
            if v == 0 {
                return arch_err(f, "must be positive");
            }
        }
        let mut g = Graph::new("lenet5");
        let [c, h, w] = self.input;
        let x = g.add(
            Op::Input {
                name: "image".into(),
                ty: TensorType::f32(vec![self.batch, c, h, w]),
            },
            &[],
        )?;
        let x = conv_block(&mut g, "conv1", c, self.conv1, 2, x)?;
        let x = conv_block(&mut g, "conv2", self.conv1, self.conv2, 0, x)?;
        let x = g.add(Op::Flatten, &[x])?;
        let flat = g.node(x).ty.shape[1];
        let x = linear(&mut g, "fc1", flat, self.fc1, x)?;
        let x = g.add(Op::Act(Activation::Relu), &[x])?;
        let x = linear(&mut g, "fc2", self.fc1, self.fc2, x)?;
        let x = g.add(Op::Act(Activation::Relu), &[x])?;
        let x = linear(&mut g, "fc3", self.fc2, self.classes, x)?;
        g.set_outputs(vec![x])?;
        Ok(g)
    }
}

/// 5x5 convolution with bias, ReLU, 2x2 max pooling.
fn conv_block(g: &mut Graph, name: &str, cin: usize, cout: usize, padding: usize, x: NodeId) -> Result<NodeId> {
    let weight = g.add_param(format!("{name}.w"), ParamSpec::dense(vec![cout, cin, 5, 5]))?;
    let bias = g.add_param(format!("{name}.b"), ParamSpec::dense(vec![cout]))?;
    let y = g.add(
        Op::Conv2d {
            weight,
            bias: Some(bias),
            stride: 1,
            padding,
        },
        &[x],
    )?;
    let y = g.add(Op::Act(Activation::Relu), &[y])?;
    g.add(
        Op::Pool {
            kind: PoolKind::Max,
            size: 2,
            stride: 2,
        },
        &[y],
    )
}
