//! The layers of the gradient-leakage victim, forward and backward, over any scalar that
//! `num_dual` can differentiate (`f64` included). Loops run along image rows so that the `f64`
//! instances vectorise; max pooling and ReLU branch on the real part, which is exact almost
//! everywhere (a tie between dual numbers is broken the same way as between their real parts).

use std::fmt;
use std::str::FromStr;

use num_dual::DualNum;
use serde::{Deserialize, Serialize};

use crate::error::{PrivacyError, config};

/// The hidden layers' activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Act {
    Relu,
    /// DLG's victims use sigmoid: twice differentiable everywhere.
    Sigmoid,
}

impl Act {
    pub fn apply<D: DualNum<Primitive = f64> + Copy>(self, mut z: Vec<D>) -> Vec<D> {
        for v in &mut z {
            *v = match self {
                Act::Relu if v.re() > 0.0 => *v,
                Act::Relu => D::from(0.0),
                Act::Sigmoid => ((-*v).exp() + 1.0).recip(),
            };
        }
        z
    }

    /// dL/dz from dL/dy, given the activation's output y.
    pub fn back<D: DualNum<Primitive = f64> + Copy>(self, mut dy: Vec<D>, y: &[D]) -> Vec<D> {
        for (g, &y) in dy.iter_mut().zip(y) {
            *g = match self {
                Act::Relu if y.re() > 0.0 => *g,
                Act::Relu => D::from(0.0),
                Act::Sigmoid => *g * y * (-y + 1.0),
            };
        }
        dy
    }
}

impl fmt::Display for Act {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Act::Relu => "relu",
            Act::Sigmoid => "sigmoid",
        })
    }
}

impl FromStr for Act {
    type Err = PrivacyError;
    fn from_str(s: &str) -> Result<Self, PrivacyError> {
        match s {
            "relu" => Ok(Act::Relu),
            "sigmoid" => Ok(Act::Sigmoid),
            _ => Err(config("activation", format!("{s:?} is not relu or sigmoid"))),
        }
    }
}

/// The output columns `ox` whose input column `ox + k - pad` lies in `0..width`.
fn valid(k: usize, pad: usize, width: usize, out: usize) -> std::ops::Range<usize> {
    let lo = pad.saturating_sub(k);
    let hi = (width + pad).saturating_sub(k).min(out);
    lo..hi.max(lo)
}

/// 5x5 convolution, stride 1, zero padding `pad`: x [cin, h, w] -> [cout, h', w'].
pub fn conv<D: DualNum<Primitive = f64> + Copy>(
    x: &[D],
    [cin, h, w]: [usize; 3],
    weight: &[D],
    bias: &[D],
    cout: usize,
    pad: usize,
) -> Vec<D> {
    let (oh, ow) = (h + 2 * pad - 4, w + 2 * pad - 4);
    let mut out = Vec::with_capacity(cout * oh * ow);
    for &b in bias.iter().take(cout) {
        out.extend(std::iter::repeat_n(b, oh * ow));
    }
    for co in 0..cout {
        for ci in 0..cin {
            for ky in 0..5 {
                let rows = valid(ky, pad, h, oh);
                for kx in 0..5 {
                    let wv = weight[((co * cin + ci) * 5 + ky) * 5 + kx];
                    let cols = valid(kx, pad, w, ow);
                    for oy in rows.clone() {
                        let src = (ci * h + oy + ky - pad) * w + cols.start + kx - pad;
                        let dst = &mut out[(co * oh + oy) * ow..][cols.clone()];
                        let src = &x[src..src + cols.len()];
                        dst.iter_mut().zip(src).for_each(|(o, &v)| *o += wv * v);
                    }
                }
            }
        }
    }
    out
}

/// Gradients of `conv` from dL/dout: (dL/dx, dL/dweight, dL/dbias).
pub fn conv_back<D: DualNum<Primitive = f64> + Copy>(
    dout: &[D],
    x: &[D],
    [cin, h, w]: [usize; 3],
    weight: &[D],
    cout: usize,
    pad: usize,
) -> (Vec<D>, Vec<D>, Vec<D>) {
    let (oh, ow) = (h + 2 * pad - 4, w + 2 * pad - 4);
    let zero = D::from(0.0);
    let mut dx = vec![zero; cin * h * w];
    let mut dw = vec![zero; cout * cin * 25];
    let dbias = (0..cout)
        .map(|co| dout[co * oh * ow..(co + 1) * oh * ow].iter().copied().sum())
        .collect();
    for co in 0..cout {
        for ci in 0..cin {
            for ky in 0..5 {
                let rows = valid(ky, pad, h, oh);
                for kx in 0..5 {
                    let at = ((co * cin + ci) * 5 + ky) * 5 + kx;
                    let cols = valid(kx, pad, w, ow);
                    let mut acc = zero;
                    for oy in rows.clone() {
                        let src = (ci * h + oy + ky - pad) * w + cols.start + kx - pad;
                        let g = &dout[(co * oh + oy) * ow..][cols.clone()];
                        let xs = &x[src..src + cols.len()];
                        acc += g.iter().zip(xs).map(|(&a, &b)| a * b).sum::<D>();
                        let dxs = &mut dx[src..src + cols.len()];
                        dxs.iter_mut().zip(g).for_each(|(o, &v)| *o += weight[at] * v);
                    }
                    dw[at] = acc;
                }
            }
        }
    }
    (dx, dw, dbias)
}

/// y = W x + b, W [out, in] row-major.
pub fn linear<D: DualNum<Primitive = f64> + Copy>(x: &[D], weight: &[D], bias: &[D]) -> Vec<D> {
    bias.iter()
        .enumerate()
        .map(|(o, &b)| {
            b + weight[o * x.len()..(o + 1) * x.len()]
                .iter()
                .zip(x)
                .map(|(&a, &v)| a * v)
                .sum::<D>()
        })
        .collect()
}

/// Gradients of `linear` from dL/dy: (dL/dx, dL/dW, dL/db).
pub fn linear_back<D: DualNum<Primitive = f64> + Copy>(dy: &[D], x: &[D], weight: &[D]) -> (Vec<D>, Vec<D>, Vec<D>) {
    let mut dx = vec![D::from(0.0); x.len()];
    let mut dw = Vec::with_capacity(weight.len());
    for (o, &g) in dy.iter().enumerate() {
        let row = &weight[o * x.len()..(o + 1) * x.len()];
        dx.iter_mut().zip(row).for_each(|(d, &a)| *d += a * g);
        dw.extend(x.iter().map(|&v| v * g));
    }
    (dx, dw, dy.to_vec())
}

/// 2x2 max pooling, stride 2, of an activation output `pre` [c, h, w]; `arg` is the index in
/// `pre` each output came from.
#[derive(Debug, Clone)]
pub struct Pooled<D> {
    pub pre: Vec<D>,
    pub out: Vec<D>,
    pub arg: Vec<usize>,
}

pub fn pool<D: DualNum<Primitive = f64> + Copy>(pre: Vec<D>, [c, h, w]: [usize; 3]) -> Pooled<D> {
    let (oh, ow) = (h / 2, w / 2);
    let mut arg = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let at = |dy: usize, dx: usize| (ch * h + 2 * oy + dy) * w + 2 * ox + dx;
                let best = [at(0, 1), at(1, 0), at(1, 1)]
                    .into_iter()
                    .fold(at(0, 0), |b, i| if pre[i].re() > pre[b].re() { i } else { b });
                arg.push(best);
            }
        }
    }
    let out = arg.iter().map(|&i| pre[i]).collect();
    Pooled { pre, out, arg }
}

/// dL/dpre from dL/dout.
pub fn pool_back<D: DualNum<Primitive = f64> + Copy>(dout: &[D], p: &Pooled<D>) -> Vec<D> {
    let mut d = vec![D::from(0.0); p.pre.len()];
    p.arg.iter().zip(dout).for_each(|(&i, &g)| d[i] += g);
    d
}
