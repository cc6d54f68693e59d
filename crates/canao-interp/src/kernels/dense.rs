use canao_ir::Activation;
use canao_tensor::Tensor;

/// Applies an activation to one value, in f64.
pub fn act(a: Activation, x: f64) -> f64 {
    match a {
        Activation::Identity => x,
        Activation::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
        Activation::Relu => x.max(0.0),
    }
}

/// y[t, n] = act(sum_k x[t, k] w[n, k] + b[n]) over every leading index t.
pub fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>, a: Activation, out_shape: Vec<usize>) -> Tensor {
    let (n, k) = (w.shape()[0], w.shape()[1]);
    let (xd, wd) = (x.data(), w.data());
    let mut out = Tensor::zeros(out_shape);
    for (xrow, yrow) in xd.chunks(k).zip(out.data_mut().chunks_mut(n)) {
        for (j, y) in yrow.iter_mut().enumerate() {
            let wrow = &wd[j * k..(j + 1) * k];
            let mut s: f64 = xrow.iter().zip(wrow).map(|(&p, &q)| f64::from(p) * f64::from(q)).sum();
            if let Some(b) = b {
                s += f64::from(b.data()[j]);
            }
            *y = act(a, s) as f32;
        }
    }
    out
}

pub fn bias_add(x: &Tensor, b: &Tensor) -> Tensor {
    let n = b.len();
    let mut out = x.clone();
    for row in out.data_mut().chunks_mut(n) {
        for (v, bv) in row.iter_mut().zip(b.data()) {
            *v = (f64::from(*v) + f64::from(*bv)) as f32;
        }
    }
    out
}

/// Batched a x b (or a x b^T), times alpha; rank 2 is a batch of one.
pub fn matmul(a: &Tensor, b: &Tensor, transpose_b: bool, alpha: f32, out_shape: Vec<usize>) -> Tensor {
    let rank = a.shape().len();
    let (m, k) = (a.shape()[rank - 2], a.shape()[rank - 1]);
    let n = out_shape[rank - 1];
    let batch = a.len() / (m * k);
    let mut out = Tensor::zeros(out_shape);
    let (ad, bd) = (a.data(), b.data());
    for bi in 0..batch {
        let (ab, bb) = (&ad[bi * m * k..(bi + 1) * m * k], &bd[bi * k * n..(bi + 1) * k * n]);
        let ob = &mut out.data_mut()[bi * m * n..(bi + 1) * m * n];
        for i in 0..m {
            for j in 0..n {
                let s: f64 = (0..k)
                    .map(|p| {
                        let bv = if transpose_b { bb[j * k + p] } else { bb[p * n + j] };
                        f64::from(ab[i * k + p]) * f64::from(bv)
                    })
                    .sum();
                ob[i * n + j] = (s * f64::from(alpha)) as f32;
            }
        }
    }
    out
}

pub fn add(a: &Tensor, b: &Tensor) -> Tensor {
    let mut out = a.clone();
    for (v, w) in out.data_mut().iter_mut().zip(b.data()) {
        *v = (f64::from(*v) + f64::from(*w)) as f32;
    }
    out
}

pub fn activate(x: &Tensor, a: Activation) -> Tensor {
    let mut out = x.clone();
    for v in out.data_mut() {
        *v = act(a, f64::from(*v)) as f32;
    }
    out
}
