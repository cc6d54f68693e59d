//! A two-layer GCN (Kipf and Welling 2017), Z = A_hat relu(A_hat X W1 + b1) W2 + b2, with a
//! hand-written forward and backward on the sparse adjacency and sparse features. The backward
//! gives the parameters' gradients and, for attacks, the pieces of dL/dA_hat (`AdjGrad`).

use rand::Rng;
use rand::distr::{Distribution, Uniform};

use crate::adjacency::Adjacency;
use crate::features::Features;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dims {
    pub features: usize,
    pub hidden: usize,
    pub classes: usize,
}

/// The parameters; W1 is [features, hidden] and W2 [hidden, classes], row-major (input-major:
/// the IR's `Linear` stores the transpose, see `crate::ir`).
#[derive(Debug, Clone, PartialEq)]
pub struct Gcn {
    pub dims: Dims,
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

/// What a forward pass keeps for the backward.
#[derive(Debug, Clone)]
pub struct Pass {
    /// Per stored feature entry: 0 if dropped, else the inverted-dropout scale.
    x_scale: Vec<f32>,
    /// P = X W1 (after input dropout), [nodes, hidden].
    p: Vec<f32>,
    /// d relu(dropout(H)) / dH per hidden entry.
    h_scale: Vec<f32>,
    r: Vec<f32>,
    /// Q = R W2, [nodes, classes].
    q: Vec<f32>,
    /// Logits, [nodes, classes].
    pub z: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Grads {
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

/// dL/dA_hat[i][j] = dZ_i . Q_j + dH_i . P_j for any pair, stored or not: both layers read A_hat.
#[derive(Debug, Clone)]
pub struct AdjGrad {
    pub(crate) dims: Dims,
    dz: Vec<f32>,
    q: Vec<f32>,
    dh: Vec<f32>,
    p: Vec<f32>,
}

impl AdjGrad {
    pub fn entry(&self, i: usize, j: usize) -> f32 {
        let (h, c) = (self.dims.hidden, self.dims.classes);
        dot(&self.dz[i * c..(i + 1) * c], &self.q[j * c..(j + 1) * c])
            + dot(&self.dh[i * h..(i + 1) * h], &self.p[j * h..(j + 1) * h])
    }
}

pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Inverted dropout at `rate` with its random source, or none (evaluation).
pub type Dropout<'a, R> = Option<(f32, &'a mut R)>;

impl Gcn {
    /// Glorot-uniform weights, zero biases.
    pub fn init(dims: Dims, rng: &mut impl Rng) -> Self {
        let mut glorot = |fan_in: usize, fan_out: usize| {
            let a = (6.0 / (fan_in + fan_out) as f32).sqrt();
            let u = Uniform::new_inclusive(-a, a).expect("a finite positive range");
            (0..fan_in * fan_out).map(|_| u.sample(rng)).collect::<Vec<f32>>()
        };
        let w1 = glorot(dims.features, dims.hidden);
        let w2 = glorot(dims.hidden, dims.classes);
        Self {
            dims,
            w1,
            b1: vec![0.0; dims.hidden],
            w2,
            b2: vec![0.0; dims.classes],
        }
    }

    /// Logits without dropout.
    pub fn logits(&self, adj: &Adjacency, x: &Features) -> Vec<f32> {
        self.forward::<rand_chacha::ChaCha8Rng>(adj, x, None).z
    }

    pub fn forward<R: Rng>(&self, adj: &Adjacency, x: &Features, mut dropout: Dropout<'_, R>) -> Pass {
        let Dims {
            hidden: h, classes: c, ..
        } = self.dims;
        let n = x.nodes();
        let keep = |rng_rate: &mut Dropout<'_, R>| match rng_rate {
            Some((rate, rng)) => {
                if rng.random::<f32>() < *rate {
                    0.0
                } else {
                    1.0 / (1.0 - *rate)
                }
            }
            None => 1.0,
        };
        let mut x_scale = Vec::with_capacity(x.nnz());
        let mut p = vec![0.0; n * h];
        for i in 0..n {
            let out = &mut p[i * h..(i + 1) * h];
            for &(f, v) in x.row(i) {
                let s = keep(&mut dropout);
                x_scale.push(s);
                if s != 0.0 {
                    axpy(v * s, &self.w1[f * h..(f + 1) * h], out);
                }
            }
        }
        let mut hid = adj.spmm(&p, h);
        let mut h_scale = vec![0.0; n * h];
        for (k, v) in hid.iter_mut().enumerate() {
            *v += self.b1[k % h];
            h_scale[k] = if *v > 0.0 { keep(&mut dropout) } else { 0.0 };
        }
        let r: Vec<f32> = hid.iter().zip(&h_scale).map(|(v, s)| v * s).collect();
        let q = matmul(&r, &self.w2, n, h, c);
        let mut z = adj.spmm(&q, c);
        for (k, v) in z.iter_mut().enumerate() {
            *v += self.b2[k % c];
        }
        Pass {
            x_scale,
            p,
            h_scale,
            r,
            q,
            z,
        }
    }

    /// Gradients of a loss whose gradient with respect to the logits is `dz`.
    pub fn backward(&self, adj: &Adjacency, x: &Features, pass: Pass, dz: Vec<f32>) -> (Grads, AdjGrad) {
        let Dims {
            hidden: h, classes: c, ..
        } = self.dims;
        let n = x.nodes();
        let b2 = column_sums(&dz, c);
        let dq = adj.spmm(&dz, c);
        let w2 = matmul_tn(&pass.r, &dq, n, h, c);
        let mut dh = matmul_nt(&dq, &self.w2, n, c, h);
        dh.iter_mut().zip(&pass.h_scale).for_each(|(g, s)| *g *= s);
        let b1 = column_sums(&dh, h);
        let dp = adj.spmm(&dh, h);
        let mut w1 = vec![0.0; self.w1.len()];
        let mut k = 0;
        for i in 0..n {
            for &(f, v) in x.row(i) {
                let s = pass.x_scale[k];
                k += 1;
                if s != 0.0 {
                    axpy(v * s, &dp[i * h..(i + 1) * h], &mut w1[f * h..(f + 1) * h]);
                }
            }
        }
        let adj_grad = AdjGrad {
            dims: self.dims,
            dz,
            q: pass.q,
            dh,
            p: pass.p,
        };
        (Grads { w1, b1, w2, b2 }, adj_grad)
    }
}

fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; cols];
    for row in m.chunks_exact(cols) {
        out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
    }
    out
}

/// A [n, k] times B [k, m].
fn matmul(a: &[f32], b: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut out = vec![0.0; n * m];
    for i in 0..n {
        for t in 0..k {
            axpy(a[i * k + t], &b[t * m..(t + 1) * m], &mut out[i * m..(i + 1) * m]);
        }
    }
    out
}

/// A^T B for A [n, k], B [n, m]: [k, m].
fn matmul_tn(a: &[f32], b: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut out = vec![0.0; k * m];
    for i in 0..n {
        for t in 0..k {
            axpy(a[i * k + t], &b[i * m..(i + 1) * m], &mut out[t * m..(t + 1) * m]);
        }
    }
    out
}

/// A B^T for A [n, k], B [m, k]: [n, m].
fn matmul_nt(a: &[f32], b: &[f32], n: usize, k: usize, m: usize) -> Vec<f32> {
    let mut out = vec![0.0; n * m];
    for i in 0..n {
        for j in 0..m {
            out[i * m + j] = dot(&a[i * k..(i + 1) * k], &b[j * k..(j + 1) * k]);
        }
    }
    out
}
