//! LeNet-5 as canao's IR builds it (`LeNetArch`): two 5x5 convolutions with ReLU and 2x2 max
//! pooling (the first padded by 2), then three linear layers; parameters `conv1.w` [6, C, 5, 5],
//! `conv1.b`, ..., `fc3.b`.

use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor};
use canao_ir::Weights;
use canao_ir::builders::LeNetArch;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Result, TrainError};
use crate::layers::Dense;
use crate::params::WeightSource;

#[derive(Module, Debug)]
pub struct Conv {
    pub w: Param<Tensor<4>>,
    pub b: Param<Tensor<1>>,
    pub padding: usize,
}

impl Conv {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let p = self.padding;
        let y = conv2d(
            x,
            self.w.val(),
            Some(self.b.val()),
            ConvOptions::new([1, 1], [p, p], [1, 1], 1),
        );
        max_pool2d(relu(y), MaxPoolOptions::new([2, 2]))
    }
}

#[derive(Module, Debug)]
pub struct LeNet {
    pub conv1: Conv,
    pub conv2: Conv,
    pub fc1: Dense,
    pub fc2: Dense,
    pub fc3: Dense,
}

/// Spatial size after the two conv blocks, and the flattened width fc1 takes.
fn flat_width(arch: &LeNetArch) -> Result<usize> {
    let [_, h, w] = arch.input;
    let side = |v: usize| (v / 2).checked_sub(4).map(|v| v / 2);
    match (side(h), side(w)) {
        (Some(a), Some(b)) if a > 0 && b > 0 => Ok(arch.conv2 * a * b),
        _ => Err(TrainError::Config {
            field: "input".into(),
            detail: format!(
                "{:?} is too small for two 5x5 convolutions with 2x2 pooling",
                arch.input
            ),
        }),
    }
}

impl LeNet {
    pub fn load(arch: &LeNetArch, weights: &Weights, device: &Device) -> Result<Self> {
        let mut src = WeightSource::new(weights)?;
        let c = arch.input[0];
        let conv = |src: &mut WeightSource, name: &str, cin: usize, cout: usize, padding: usize| -> Result<Conv> {
            Ok(Conv {
                w: src.take(&format!("{name}.w"), [cout, cin, 5, 5], device)?,
                b: src.take(&format!("{name}.b"), [cout], device)?,
                padding,
            })
        };
        let model = Self {
            conv1: conv(&mut src, "conv1", c, arch.conv1, 2)?,
            conv2: conv(&mut src, "conv2", arch.conv1, arch.conv2, 0)?,
            fc1: Dense::load(&mut src, "fc1", flat_width(arch)?, arch.fc1, device)?,
            fc2: Dense::load(&mut src, "fc2", arch.fc1, arch.fc2, device)?,
            fc3: Dense::load(&mut src, "fc3", arch.fc2, arch.classes, device)?,
        };
        src.finish()?;
        Ok(model)
    }

    /// Logits [batch, classes] of images [batch, C, H, W].
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.conv2.forward(self.conv1.forward(x));
        let [b, c, h, w] = x.dims();
        let x = relu(self.fc1.forward(x.reshape([b, c * h * w])));
        let x = relu(self.fc2.forward(x));
        self.fc3.forward(x)
    }
}

/// Fresh LeNet weights with PyTorch's default initialiser for conv and linear layers: weight
/// and bias uniform in +-1/sqrt(fan_in).
pub fn init_lenet(arch: &LeNetArch, seed: u64) -> Result<Weights> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let c = arch.input[0];
    let mut weights = Weights::new();
    let layers = [
        ("conv1", vec![arch.conv1, c, 5, 5]),
        ("conv2", vec![arch.conv2, arch.conv1, 5, 5]),
        ("fc1", vec![arch.fc1, flat_width(arch)?]),
        ("fc2", vec![arch.fc2, arch.fc1]),
        ("fc3", vec![arch.classes, arch.fc2]),
    ];
    for (name, shape) in layers {
        let fan_in: usize = shape[1..].iter().product();
        let bound = 1.0 / (fan_in as f32).sqrt();
        let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-bound..bound)).collect() };
        let w = draw(shape.iter().product());
        let b = draw(shape[0]);
        weights.insert_dense(format!("{name}.w"), canao_tensor::Tensor::new(shape.clone(), w)?);
        weights.insert_dense(format!("{name}.b"), canao_tensor::Tensor::new(vec![shape[0]], b)?);
    }
    Ok(weights)
}
