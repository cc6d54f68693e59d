//! Kernels that move data between layouts or reduce over positions: embedding lookups, the
//! sentence mean, im2col for convolutions, pooling, flattening and sparse graph propagation.

use canao_ir::PoolKind;
use canao_tensor::Csr;

use crate::kernels::Fm;

/// out[d][t] = table[ids[t]][d]; an id outside the table is an error naming it.
pub fn embedding(ids: &[f32], table: &[f32], dim: usize, out: &mut [f32], ld: usize) -> Result<(), String> {
    let vocab = table.len() / dim;
    for (t, &id) in ids.iter().enumerate() {
        if id < 0.0 || id as usize >= vocab || id.fract() != 0.0 {
            return Err(format!("id {id} at position {t} is outside the table of {vocab} rows"));
        }
        let row = &table[id as usize * dim..(id as usize + 1) * dim];
        for (d, &v) in row.iter().enumerate() {
            out[d * ld + t] = v;
        }
    }
    Ok(())
}

/// Mean over the columns whose mask is non-zero (count clamped at 1e-9, as sentence-transformers).
pub fn masked_mean(x: &[f32], f: Fm, mask: &[f32], out: &mut [f32]) {
    let count = mask.iter().sum::<f32>().max(1e-9);
    for (r, o) in out.iter_mut().enumerate().take(f.rows) {
        let row = &x[r * f.ld..r * f.ld + f.cols];
        *o = row.iter().zip(mask).map(|(v, m)| v * m).sum::<f32>() / count;
    }
}

/// Geometry of a convolution or pooling window over NCHW data held as [C, N*H*W].
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub ho: usize,
    pub wo: usize,
}

/// [C, N*H*W] -> [C*kh*kw, N*Ho*Wo] with zero padding, so a convolution is one weight product.
pub fn im2col(x: &[f32], channels: usize, ldx: usize, g: Window, out: &mut [f32], ldo: usize) {
    for c in 0..channels {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = &mut out[((c * g.kh + ky) * g.kw + kx) * ldo..];
                for n in 0..g.n {
                    for oy in 0..g.ho {
                        for ox in 0..g.wo {
                            let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                            let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                            let inside = iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w;
                            row[(n * g.ho + oy) * g.wo + ox] = if inside {
                                x[c * ldx + (n * g.h + iy as usize) * g.w + ix as usize]
                            } else {
                                0.0
                            };
                        }
                    }
                }
            }
        }
    }
}

pub fn pool(x: &[f32], channels: usize, ldx: usize, g: Window, kind: PoolKind, out: &mut [f32], ldo: usize) {
    for c in 0..channels {
        for n in 0..g.n {
            for oy in 0..g.ho {
                for ox in 0..g.wo {
                    let mut acc = if kind == PoolKind::Max { f32::NEG_INFINITY } else { 0.0 };
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let v = x[c * ldx + (n * g.h + oy * g.stride + ky) * g.w + ox * g.stride + kx];
                            acc = if kind == PoolKind::Max { acc.max(v) } else { acc + v };
                        }
                    }
                    if kind == PoolKind::Avg {
                        acc /= (g.kh * g.kw) as f32;
                    }
                    out[c * ldo + (n * g.ho + oy) * g.wo + ox] = acc;
                }
            }
        }
    }
}

/// [C, N*H*W] -> [C*H*W, N] (the IR's flatten of NCHW, in feature-major form).
pub fn flatten_nchw(x: &[f32], channels: usize, ldx: usize, (n, hw): (usize, usize), out: &mut [f32], ldo: usize) {
    for c in 0..channels {
        for s in 0..n {
            for p in 0..hw {
                out[(c * hw + p) * ldo + s] = x[c * ldx + s * hw + p];
            }
        }
    }
}

/// out[f][r] = sum over row r of A: a[r][c] * x[f][c].
pub fn spmm(a: &Csr, x: &[f32], f: Fm, out: &mut [f32]) {
    for feat in 0..f.rows {
        let xr = &x[feat * f.ld..];
        let or = &mut out[feat * f.ld..];
        for (r, o) in or.iter_mut().enumerate().take(a.rows()) {
            let (cols, vals) = a.row(r);
            *o = cols.iter().zip(vals).map(|(&c, &v)| v * xr[c]).sum();
        }
    }
}
