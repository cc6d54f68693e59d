//! Multi-head attention on feature-major Q, K, V ([heads * d, tokens], tokens contiguous).
//! Per head everything is computed transposed so that every product runs along queries,
//! contiguous in memory, on the same register-tiled kernel as the sparse weights:
//! S^T[j][:] = sum_e K[e][j] Q[e][:] (8 keys at a time), a softmax of alpha S down each column
//! over the unmasked keys, then out[e][:] = sum_j V[e][j] P^T[j][:] (8 feature rows at a time),
//! written straight into the head's rows of the output. K and V are read in place.

use rayon::prelude::*;

use crate::isa::{Isa, Loops};
use crate::kernels::block::rows_product;
use crate::kernels::math;
use crate::kernels::simd::RowsIn;
use crate::kernels::{Cx, Fm};
use crate::pack::block::STRIP_HEIGHTS;

#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    pub heads: usize,
    pub head_dim: usize,
    pub alpha: f32,
}

impl AttentionShape {
    /// Scratch floats one head needs: S^T (S rows of `ld`) and a column max and sum.
    pub fn scratch_per_head(tokens: usize, ld: usize) -> usize {
        tokens * ld + 2 * ld
    }
}

/// Runs `f(start, height)` over `0..n` in chunks of the strip heights (8, then 4, then 1).
fn chunks(n: usize, mut f: impl FnMut(usize, usize)) {
    let mut start = 0;
    while start < n {
        let h = *STRIP_HEIGHTS
            .iter()
            .find(|&&h| h <= n - start)
            .expect("height 1 always fits");
        f(start, h);
        start += h;
    }
}

/// Softmax of alpha S down each column of S^T (rows of `ld` scores, one per key) over the
/// unmasked keys, in place; `sum` ends as each column's 1 / sum (0 where every key is masked).
#[inline(always)]
fn softmax_columns(st: &mut [f32], mask: &[f32], alpha: f32, max: &mut [f32], sum: &mut [f32]) {
    let ld = max.len();
    max.fill(f32::NEG_INFINITY);
    sum.fill(0.0);
    for (row, &m) in st.chunks(ld).zip(mask) {
        if m != 0.0 {
            for (mx, &x) in max.iter_mut().zip(row) {
                *mx = mx.max(x);
            }
        }
    }
    for (row, &m) in st.chunks_mut(ld).zip(mask) {
        if m == 0.0 {
            row.fill(0.0);
            continue;
        }
        for ((x, &mx), s2) in row.iter_mut().zip(max.iter()).zip(sum.iter_mut()) {
            *x = math::exp(alpha * (*x - mx));
            *s2 += *x;
        }
    }
    // A query with every key masked attends to nothing: its column of P is all zero.
    sum.iter_mut().for_each(|s| *s = if *s > 0.0 { 1.0 / *s } else { 0.0 });
}

/// One head: `q`, `k`, `v`, `out` start at the head's first row.
#[allow(clippy::too_many_arguments)]
fn head(
    isa: Isa,
    (q, k, v): (&[f32], &[f32], &[f32]),
    mask: &[f32],
    f: Fm,
    s: AttentionShape,
    out: &mut [f32],
    scratch: &mut [f32],
) {
    let (n, ld, d) = (f.cols, f.ld, s.head_dim);
    let (st, rest) = scratch.split_at_mut(n * ld);
    let (max, sum) = rest[..2 * ld].split_at_mut(ld);
    // Raw scores, 8 keys at a time: key j's weight for feature e is K[e][j], read in place
    // (stride ld between features, 1 between keys). alpha is applied inside the softmax.
    let all_q = [(0u32, d as u32)];
    chunks(n, |j0, h| {
        let input = RowsIn {
            cols: &all_q,
            vals: &k[j0..],
            ws: (ld, 1),
            x: &q[..d * ld],
            ld,
        };
        rows_product(isa, h, input, ld, (&mut st[j0 * ld..], ld), |_, _, _, _| {});
    });
    isa.run(Loops(|| softmax_columns(st, mask, s.alpha, max, sum)));
    // Context, 8 feature rows at a time: row e's weight for key j is V[e][j], read in place
    // (stride 1 between keys, ld between features); each finished row is normalised by its
    // query's softmax sum.
    let all_keys = [(0u32, n as u32)];
    chunks(d, |e0, h| {
        let input = RowsIn {
            cols: &all_keys,
            vals: &v[e0 * ld..],
            ws: (1, ld),
            x: st,
            ld,
        };
        rows_product(isa, h, input, ld, (&mut out[e0 * ld..], ld), |o, i, _, w| {
            o[i * ld..i * ld + w]
                .iter_mut()
                .zip(sum.iter())
                .for_each(|(x, &inv)| *x *= inv);
        });
    });
}

/// `scratch` needs heads * [`AttentionShape::scratch_per_head`] floats.
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
    cx: Cx,
) {
    let rows = s.head_dim * f.ld;
    let per = AttentionShape::scratch_per_head(f.cols, f.ld);
    let out = &mut out[..s.heads * rows];
    let one = |h: usize, o: &mut [f32], sc: &mut [f32]| {
        let qkv = (&q[h * rows..], &k[h * rows..], &v[h * rows..]);
        head(cx.isa(), qkv, mask, f, s, o, sc);
    };
    if cx.threads() <= 1 {
        for (h, o) in out.chunks_mut(rows).enumerate() {
            one(h, o, &mut scratch[..per]);
        }
    } else {
        out.par_chunks_mut(rows)
            .zip(scratch[..s.heads * per].par_chunks_mut(per))
            .enumerate()
            .for_each(|(h, (o, sc))| one(h, o, sc));
    }
}
