use canao_ir::PoolKind;
use canao_tensor::{Csr, Tensor};

/// Direct convolution, NCHW, zero padding.
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: usize,
    out_shape: Vec<usize>,
) -> Tensor {
    let (n, c, h, wd) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (o, kh, kw) = (w.shape()[0], w.shape()[2], w.shape()[3]);
    let (ho, wo) = (out_shape[2], out_shape[3]);
    let mut out = Tensor::zeros(out_shape);
    let (xd, wdat) = (x.data(), w.data());
    for ni in 0..n {
        for oi in 0..o {
            for y in 0..ho {
                for xo in 0..wo {
                    let mut s = b.map_or(0.0, |b| f64::from(b.data()[oi]));
                    for ci in 0..c {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let (iy, ix) = (
                                    (y * stride + ky) as isize - padding as isize,
                                    (xo * stride + kx) as isize - padding as isize,
                                );
                                if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= wd {
                                    continue;
                                }
                                let xv = xd[((ni * c + ci) * h + iy as usize) * wd + ix as usize];
                                let wv = wdat[((oi * c + ci) * kh + ky) * kw + kx];
                                s += f64::from(xv) * f64::from(wv);
                            }
                        }
                    }
                    out.data_mut()[((ni * o + oi) * ho + y) * wo + xo] = s as f32;
                }
            }
        }
    }
    out
}

pub fn pool(x: &Tensor, kind: PoolKind, size: usize, stride: usize, out_shape: Vec<usize>) -> Tensor {
    let (h, w) = (x.shape()[2], x.shape()[3]);
    let (ho, wo) = (out_shape[2], out_shape[3]);
    let planes = out_shape[0] * out_shape[1];
    let mut out = Tensor::zeros(out_shape);
    for p in 0..planes {
        let plane = &x.data()[p * h * w..(p + 1) * h * w];
        for y in 0..ho {
            for xo in 0..wo {
                let vals = (0..size).flat_map(|dy| (0..size).map(move |dx| (y * stride + dy) * w + xo * stride + dx));
                let v = match kind {
                    PoolKind::Max => vals.map(|i| plane[i]).fold(f32::NEG_INFINITY, f32::max),
                    PoolKind::Avg => (vals.map(|i| f64::from(plane[i])).sum::<f64>() / (size * size) as f64) as f32,
                };
                out.data_mut()[(p * ho + y) * wo + xo] = v;
            }
        }
    }
    out
}

/// Sparse adjacency [n, n] times dense features [n, f].
pub fn spmm(a: &Csr, x: &Tensor, out_shape: Vec<usize>) -> Tensor {
    let f = x.shape()[1];
    let mut out = Tensor::zeros(out_shape);
    for r in 0..a.rows() {
        let (cols, vals) = a.row(r);
        let mut acc = vec![0.0f64; f];
        for (&c, &v) in cols.iter().zip(vals) {
            for (s, &xv) in acc.iter_mut().zip(&x.data()[c * f..(c + 1) * f]) {
                *s += f64::from(v) * f64::from(xv);
            }
        }
        for (o, s) in out.data_mut()[r * f..(r + 1) * f].iter_mut().zip(acc) {
            *o = s as f32;
        }
    }
    out
}
