//! The building blocks the models share, with canao's parameter layout: a linear layer's weight
//! is [out, in] (`w`) and its bias [out] (`b`); a layer norm has `g` and `b`.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::params::WeightSource;

/// `y = x W^T + b` over the last axis.
#[derive(Module, Debug)]
pub struct Dense {
    pub w: Param<Tensor<2>>,
    pub b: Param<Tensor<1>>,
}

impl Dense {
    pub fn load(src: &mut WeightSource, prefix: &str, inputs: usize, outputs: usize, device: &Device) -> Result<Self> {
        Ok(Self {
            w: src.take(&format!("{prefix}.w"), [outputs, inputs], device)?,
            b: src.take(&format!("{prefix}.b"), [outputs], device)?,
        })
    }

    /// Applies the layer to `x` [..., in]: one GEMM over all leading positions.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let mut dims = x.dims();
        let k = dims[D - 1];
        let rows = x.shape().num_elements() / k.max(1);
        let w = self.w.val();
        let n = w.dims()[0];
        let y = x.reshape([rows, k]).matmul(w.transpose()) + self.b.val().unsqueeze::<2>();
        dims[D - 1] = n;
        y.reshape(dims)
    }
}

/// Layer normalisation over the last axis.
#[derive(Module, Debug)]
pub struct Norm {
    pub g: Param<Tensor<1>>,
    pub b: Param<Tensor<1>>,
    pub eps: f64,
}

impl Norm {
    pub fn load(src: &mut WeightSource, prefix: &str, width: usize, eps: f32, device: &Device) -> Result<Self> {
        Ok(Self {
            g: src.take(&format!("{prefix}.g"), [width], device)?,
            b: src.take(&format!("{prefix}.b"), [width], device)?,
            eps: f64::from(eps),
        })
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mean = x.clone().mean_dim(2);
        let centred = x - mean;
        let var = centred.clone().square().mean_dim(2);
        let y = centred / (var + self.eps).sqrt();
        y * self.g.val().unsqueeze::<3>() + self.b.val().unsqueeze::<3>()
    }
}

/// Inverted dropout with masks drawn from a seeded ChaCha stream (burn's own random tensors draw
/// from a backend-global RNG, which a resumed run could not reproduce).
#[derive(Debug)]
pub struct Dropout {
    pub rate: f32,
    pub rng: ChaCha8Rng,
}

impl Dropout {
    pub fn apply<const D: usize>(&mut self, x: Tensor<D>) -> Tensor<D> {
        if self.rate <= 0.0 {
            return x;
        }
        let shape = x.shape();
        let keep = 1.0 - self.rate;
        // Compare 24-bit draws against the keep share: exact enough for a rate, cheap to draw.
        let threshold = (f64::from(keep) * f64::from(1u32 << 24)) as u32;
        let scale = 1.0 / keep;
        let mask: Vec<f32> = (0..shape.num_elements())
            .map(|_| {
                if self.rng.random::<u32>() >> 8 < threshold {
                    scale
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_data(TensorData::new(mask, shape), &x.device());
        x * mask
    }
}

/// Dropout while training, nothing in evaluation.
pub fn dropout<const D: usize>(x: Tensor<D>, noise: &mut Option<&mut Dropout>) -> Tensor<D> {
    match noise {
        Some(d) => d.apply(x),
        None => x,
    }
}

/// A standard normal draw (Box-Muller): the initialisers need no more than this.
pub fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2 = rng.random::<f64>();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}
