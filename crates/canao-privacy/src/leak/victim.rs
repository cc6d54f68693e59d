//! LeNet-5 in canao's shape (two 5x5 convolutions, each followed by the activation and 2x2 max
//! pooling, the first padded by 2; then three linear layers), its forward and backward written
//! once over the scalar type.
//!
//! Why by hand and generic: the gradient-matching attacks minimise a function of this model's
//! *parameter gradient* over its *input*, which needs second derivatives that burn's autodiff
//! does not give. Run over `f64`, `gradients` is the plain model. Run over dual numbers whose
//! parameters carry a tangent `v` (`Net::with_tangent`), the tangent of its input gradient is
//! d/dx <v, dL/dtheta>: one extra pass gives the exact gradient of the matching distance.

use std::fmt;
use std::str::FromStr;

use canao_ir::Weights;
use canao_ir::builders::LeNetArch;
use num_dual::{Dual64, DualNum};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{PrivacyError, Result, config};
use crate::leak::ops::{Act, Pooled, conv, conv_back, linear, linear_back, pool, pool_back};

/// The parameter names, in forward order (the order of `Net::tensors`).
pub const NAMES: [&str; 10] = [
    "conv1.w", "conv1.b", "conv2.w", "conv2.b", "fc1.w", "fc1.b", "fc2.w", "fc2.b", "fc3.w", "fc3.b",
];

/// The sizes a LeNet-5 of one architecture works with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// [channels, height, width] of the input image.
    pub input: [usize; 3],
    pub conv1: usize,
    pub conv2: usize,
    pub fc1: usize,
    pub fc2: usize,
    pub classes: usize,
}

impl Dims {
    pub fn of(arch: &LeNetArch) -> Result<Self> {
        let [_, h, w] = arch.input;
        if h < 12 || w < 12 || h % 4 != 0 || w % 4 != 0 {
            return Err(config(
                "input",
                format!("{:?}: height and width must be multiples of 4, at least 12", arch.input),
            ));
        }
        Ok(Self {
            input: arch.input,
            conv1: arch.conv1,
            conv2: arch.conv2,
            fc1: arch.fc1,
            fc2: arch.fc2,
            classes: arch.classes,
        })
    }

    /// Side lengths after conv1 + pool, and after conv2 + pool.
    fn sides(&self) -> ([usize; 2], [usize; 2]) {
        let [_, h, w] = self.input;
        let p1 = [h / 2, w / 2];
        (p1, [(p1[0] - 4) / 2, (p1[1] - 4) / 2])
    }

    pub fn flat(&self) -> usize {
        let (_, [a, b]) = self.sides();
        self.conv2 * a * b
    }

    pub fn pixels(&self) -> usize {
        self.input.iter().product()
    }

    /// Every tensor's shape, in `NAMES` order.
    pub fn shapes(&self) -> [Vec<usize>; 10] {
        let c = self.input[0];
        [
            vec![self.conv1, c, 5, 5],
            vec![self.conv1],
            vec![self.conv2, self.conv1, 5, 5],
            vec![self.conv2],
            vec![self.fc1, self.flat()],
            vec![self.fc1],
            vec![self.fc2, self.fc1],
            vec![self.fc2],
            vec![self.classes, self.fc2],
            vec![self.classes],
        ]
    }
}

/// How the untrained victim's weights are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// PyTorch's default for conv and linear layers: uniform in +-1/sqrt(fan_in).
    Default,
    /// DLG's reference code: every weight and bias uniform in +-0.5.
    Uniform,
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Init::Default => "default",
            Init::Uniform => "uniform",
        })
    }
}

impl FromStr for Init {
    type Err = PrivacyError;
    fn from_str(s: &str) -> std::result::Result<Self, PrivacyError> {
        match s {
            "default" => Ok(Init::Default),
            "uniform" => Ok(Init::Uniform),
            _ => Err(config("init", format!("{s:?} is not default or uniform"))),
        }
    }
}

/// Loss and gradients of one image with a soft label.
#[derive(Debug, Clone)]
pub struct Grads<D> {
    pub loss: D,
    /// Per tensor, in `NAMES` order.
    pub params: Vec<Vec<D>>,
    pub input: Vec<D>,
    pub label: Vec<D>,
}

/// A LeNet-5 over scalar `D`: its sizes, activation and tensors in `NAMES` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Net<D> {
    pub dims: Dims,
    pub act: Act,
    pub tensors: Vec<Vec<D>>,
}

impl Net<f64> {
    /// A fresh model, its weights drawn by `init` from `seed`.
    pub fn init(arch: &LeNetArch, act: Act, init: Init, seed: u64) -> Result<Self> {
        let dims = Dims::of(arch)?;
        match init {
            Init::Default => Self::from_weights(dims, act, &canao_train::init_lenet(arch, seed)?),
            Init::Uniform => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let tensors = dims
                    .shapes()
                    .iter()
                    .map(|s| (0..s.iter().product()).map(|_| rng.random_range(-0.5..0.5)).collect())
                    .collect();
                Ok(Self { dims, act, tensors })
            }
        }
    }

    /// The model in canao's weights (as `canao_train::init_lenet` and training write them).
    pub fn from_weights(dims: Dims, act: Act, weights: &Weights) -> Result<Self> {
        let tensors = NAMES
            .iter()
            .zip(dims.shapes())
            .map(|(name, shape)| {
                let t = weights.dense(name)?;
                if t.shape() != shape.as_slice() {
                    return Err(config(
                        name,
                        format!("has shape {:?}, LeNet-5 needs {shape:?}", t.shape()),
                    ));
                }
                Ok(t.data().iter().map(|&v| f64::from(v)).collect())
            })
            .collect::<Result<_>>()?;
        Ok(Self { dims, act, tensors })
    }

    pub fn to_weights(&self) -> Result<Weights> {
        let mut w = Weights::new();
        for ((name, shape), data) in NAMES.iter().zip(self.dims.shapes()).zip(&self.tensors) {
            let data = data.iter().map(|&v| v as f32).collect();
            w.insert_dense(name.to_string(), canao_tensor::Tensor::new(shape, data)?);
        }
        Ok(w)
    }

    /// The same model over dual numbers, every parameter moved along `tangent` (one vector per
    /// tensor): the derivative parts of its outputs are directional derivatives along it.
    pub fn with_tangent(&self, tangent: &[Vec<f64>]) -> Net<Dual64> {
        let tensors = self
            .tensors
            .iter()
            .zip(tangent)
            .map(|(t, v)| t.iter().zip(v).map(|(&re, &eps)| Dual64::new(re, eps)).collect())
            .collect();
        Net {
            dims: self.dims,
            act: self.act,
            tensors,
        }
    }

    /// Predicted class of `image`.
    pub fn predict(&self, image: &[f64]) -> usize {
        let logits = self.forward(image).logits;
        (0..logits.len()).fold(0, |best, k| if logits[k] > logits[best] { k } else { best })
    }
}

/// What the backward pass needs of the forward one.
struct Forward<D> {
    input: Vec<D>,
    pool1: Pooled<D>,
    pool2: Pooled<D>,
    h1: Vec<D>,
    h2: Vec<D>,
    logits: Vec<D>,
}

impl<D: DualNum<Primitive = f64> + Copy> Net<D> {
    fn forward(&self, image: &[D]) -> Forward<D> {
        let d = self.dims;
        let t = &self.tensors;
        let [c, h, w] = d.input;
        let z1 = conv(image, [c, h, w], &t[0], &t[1], d.conv1, 2);
        let pool1 = pool(self.act.apply(z1), [d.conv1, h, w]);
        let ([h1, w1], _) = d.sides();
        let z2 = conv(&pool1.out, [d.conv1, h1, w1], &t[2], &t[3], d.conv2, 0);
        let pool2 = pool(self.act.apply(z2), [d.conv2, h1 - 4, w1 - 4]);
        let h1 = self.act.apply(linear(&pool2.out, &t[4], &t[5]));
        let h2 = self.act.apply(linear(&h1, &t[6], &t[7]));
        let logits = linear(&h2, &t[8], &t[9]);
        Forward {
            input: image.to_vec(),
            pool1,
            pool2,
            h1,
            h2,
            logits,
        }
    }

    /// Cross-entropy of `image` against the soft label `label` (any non-negative weights; a
    /// one-hot vector gives the usual loss), and its gradient with respect to every parameter,
    /// the image and the label.
    pub fn gradients(&self, image: &[D], label: &[D]) -> Grads<D> {
        let d = self.dims;
        let t = &self.tensors;
        let f = self.forward(image);
        let (loss, dlogits, dlabel) = soft_cross_entropy(&f.logits, label);
        let (dh2, fc3w, fc3b) = linear_back(&dlogits, &f.h2, &t[8]);
        let (dh1, fc2w, fc2b) = linear_back(&self.act.back(dh2, &f.h2), &f.h1, &t[6]);
        let (dflat, fc1w, fc1b) = linear_back(&self.act.back(dh1, &f.h1), &f.pool2.out, &t[4]);
        let ([side_h, side_w], _) = d.sides();
        let dz2 = self.act.back(pool_back(&dflat, &f.pool2), &f.pool2.pre);
        let (dp1, c2w, c2b) = conv_back(&dz2, &f.pool1.out, [d.conv1, side_h, side_w], &t[2], d.conv2, 0);
        let dz1 = self.act.back(pool_back(&dp1, &f.pool1), &f.pool1.pre);
        let (dinput, c1w, c1b) = conv_back(&dz1, &f.input, d.input, &t[0], d.conv1, 2);
        let params = vec![c1w, c1b, c2w, c2b, fc1w, fc1b, fc2w, fc2b, fc3w, fc3b];
        Grads {
            loss,
            params,
            input: dinput,
            label: dlabel,
        }
    }
}

/// L = -sum_k y_k log softmax(z)_k, with dL/dz and dL/dy.
fn soft_cross_entropy<D: DualNum<Primitive = f64> + Copy>(logits: &[D], label: &[D]) -> (D, Vec<D>, Vec<D>) {
    let top = logits.iter().map(|z| z.re()).fold(f64::NEG_INFINITY, f64::max);
    let sum: D = logits.iter().map(|&z| (z - top).exp()).sum();
    let log_norm = sum.ln() + top;
    let log_p: Vec<D> = logits.iter().map(|&z| z - log_norm).collect();
    let mass: D = label.iter().copied().sum();
    let loss = -log_p.iter().zip(label).map(|(&lp, &y)| lp * y).sum::<D>();
    let dlogits = log_p.iter().zip(label).map(|(&lp, &y)| lp.exp() * mass - y).collect();
    let dlabel = log_p.iter().map(|&lp| -lp).collect();
    (loss, dlogits, dlabel)
}
