//! Multi-head attention on feature-major Q, K, V ([heads * d, tokens]): per head, scores =
//! alpha Q_h^T K_h into an S x S scratch, masked softmax over keys, then context = V_h P^T written
//! straight into the head's rows of the output. Heads never materialise in another layout.

use rayon::prelude::*;

use crate::kernels::Fm;
use crate::kernels::dense::{View, gemm_strided};
use crate::kernels::math;

#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    pub heads: usize,
    pub head_dim: usize,
    pub alpha: f32,
}

/// One head: `q`, `k`, `v`, `out` start at the head's first row; `scores` holds S x S.
#[allow(clippy::too_many_arguments)]
fn head(q: &[f32], k: &[f32], v: &[f32], mask: &[f32], f: Fm, s: AttentionShape, out: &mut [f32], scores: &mut [f32]) {
    let n = f.cols;
    let d = s.head_dim;
    let sc = &mut scores[..n * n];
    gemm_strided(
        (n, n, d),
        sc,
        View { rs: n, cs: 1 },
        false,
        q,
        View { rs: 1, cs: f.ld },
        k,
        View { rs: f.ld, cs: 1 },
        s.alpha,
        1,
    );
    for row in sc.chunks_mut(n) {
        let max = row.iter().zip(mask).filter(|(_, m)| **m != 0.0).map(|(v, _)| *v).fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for (v, &m) in row.iter_mut().zip(mask) {
            *v = if m != 0.0 { math::exp(*v - max) } else { 0.0 };
            sum += *v;
        }
        let inv = if sum > 0.0 { 1.0 / sum } else { 0.0 };
        row.iter_mut().for_each(|v| *v *= inv);
    }
    gemm_strided((d, n, n), out, View { rs: f.ld, cs: 1 }, false, v, View { rs: f.ld, cs: 1 }, sc, View { rs: 1, cs: n }, 1.0, 1);
}

/// `scratch` needs S*S floats, or heads*S*S when `threads` > 1 (heads run in parallel).
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: &[f32],
    f: Fm,
    s: AttentionShape,
    out: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) {
    let rows = s.head_dim * f.ld;
    let nn = f.cols * f.cols;
    let out = &mut out[..s.heads * rows];
    if threads <= 1 {
        for (h, o) in out.chunks_mut(rows).enumerate() {
            head(&q[h * rows..], &k[h * rows..], &v[h * rows..], mask, f, s, o, scratch);
        }
    } else {
        out.par_chunks_mut(rows).zip(scratch[..s.heads * nn].par_chunks_mut(nn)).enumerate().for_each(|(h, (o, sc))| {
            head(&q[h * rows..], &k[h * rows..], &v[h * rows..], mask, f, s, o, sc)
        });
    }
}
