//! Multi-head attention on feature-major Q, K, V ([heads * d, tokens], tokens contiguous).
//! Per head everything is computed transposed so that every product runs along queries,
//! contiguous in memory, on the same register-tiled kernel as the sparse weights:
//! S^T[j][:] = alpha * sum_e K[e][j] Q[e][:] (8 keys at a time), a softmax down each column over
//! the unmasked keys, then out[e][:] = sum_j V[e][j] P^T[j][:] (8 feature rows at a time),
//! written straight into the head's rows of the output.

use rayon::prelude::*;

use crate::kernels::Fm;
use crate::kernels::block::rows_product_dyn;
use crate::kernels::math;
use crate::pack::block::STRIP_HEIGHTS;

#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    pub heads: usize,
    pub head_dim: usize,
    pub alpha: f32,
}

impl AttentionShape {
    /// Scratch floats one head needs: S^T (S rows of `ld`), a column max and sum, and packed
    /// weights for 8 rows of the longer of d and S.
    pub fn scratch_per_head(tokens: usize, ld: usize, head_dim: usize) -> usize {
        tokens * ld + 2 * ld + 8 * head_dim.max(tokens)
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

/// One head: `q`, `k`, `v`, `out` start at the head's first row.
#[allow(clippy::too_many_arguments)]
fn head(q: &[f32], k: &[f32], v: &[f32], mask: &[f32], f: Fm, s: AttentionShape, out: &mut [f32], scratch: &mut [f32]) {
    let (n, ld, d) = (f.cols, f.ld, s.head_dim);
    let (st, rest) = scratch.split_at_mut(n * ld);
    let (max, rest) = rest.split_at_mut(ld);
    let (sum, packed) = rest.split_at_mut(ld);
    let all_q = [(0u32, d as u32)];
    chunks(n, |j0, h| {
        for e in 0..d {
            for i in 0..h {
                packed[e * h + i] = s.alpha * k[e * ld + j0 + i];
            }
        }
        rows_product_dyn(
            h,
            &all_q,
            packed,
            &q[..d * ld],
            ld,
            ld,
            &mut st[j0 * ld..],
            ld,
            |_, _, _, _| {},
        );
    });
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
        for ((x, &mx), s) in row.iter_mut().zip(max.iter()).zip(sum.iter_mut()) {
            *x = math::exp(*x - mx);
            *s += *x;
        }
    }
    // Normalise P's columns here so the context product below writes final values. A query
    // with every key masked attends to nothing: its column of P is all zero.
    sum.iter_mut().for_each(|s| *s = if *s > 0.0 { 1.0 / *s } else { 0.0 });
    for (row, &m) in st.chunks_mut(ld).zip(mask) {
        if m != 0.0 {
            row.iter_mut().zip(sum.iter()).for_each(|(x, &inv)| *x *= inv);
        }
    }
    let all_keys = [(0u32, n as u32)];
    chunks(d, |e0, h| {
        for j in 0..n {
            for i in 0..h {
                packed[j * h + i] = v[(e0 + i) * ld + j];
            }
        }
        rows_product_dyn(
            h,
            &all_keys,
            packed,
            st,
            ld,
            ld,
            &mut out[e0 * ld..],
            ld,
            |_, _, _, _| {},
        );
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
    threads: usize,
) {
    let rows = s.head_dim * f.ld;
    let per = AttentionShape::scratch_per_head(f.cols, f.ld, s.head_dim);
    let out = &mut out[..s.heads * rows];
    if threads <= 1 {
        for (h, o) in out.chunks_mut(rows).enumerate() {
            head(
                &q[h * rows..],
                &k[h * rows..],
                &v[h * rows..],
                mask,
                f,
                s,
                o,
                &mut scratch[..per],
            );
        }
    } else {
        out.par_chunks_mut(rows)
            .zip(scratch[..s.heads * per].par_chunks_mut(per))
            .enumerate()
            .for_each(|(h, (o, sc))| head(&q[h * rows..], &k[h * rows..], &v[h * rows..], mask, f, s, o, sc));
    }
}
