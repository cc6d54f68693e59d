//! Pattern-sparse weight x activation: one output row at a time with a T-token accumulator in
//! registers; blocks sharing a pattern are walked together with that pattern's column offsets.

use crate::kernels::epilogue::Epilogue;
#[cfg(target_arch = "x86_64")]
use crate::kernels::simd;
use crate::kernels::{Fm, for_each_rows};
use crate::pack::PatternPacked;
use crate::padded;

/// The (column, weight) terms of output row `row`, in packed order.
fn terms(p: &PatternPacked, row: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
    let r = p.block[0];
    p.groups[row / r]
        .iter()
        .flat_map(move |&(prog, (a, b))| {
            let offsets = &p.programs[prog][row % r];
            p.block_cols[a..b]
                .iter()
                .flat_map(move |&c0| offsets.iter().map(move |&o| c0 as usize + usize::from(o)))
        })
        .zip(p.vals[p.row_vals[row]..].iter().copied())
}

/// 16V tokens of one row into `out`: AVX-512 when present, else a portable loop.
fn row_tile<const V: usize>(p: &PatternPacked, row: usize, x: &[f32], ld: usize, t0: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        return simd::pattern_row_tile::<V>(p, row, x, ld, t0, out);
    }
    let out = &mut out[..16 * V];
    out.fill(0.0);
    for (k, w) in terms(p, row) {
        for (o, &xv) in out.iter_mut().zip(&x[k * ld + t0..k * ld + t0 + 16 * V]) {
            *o = w.mul_add(xv, *o);
        }
    }
}

fn row(p: &PatternPacked, n: usize, x: &[f32], xf: Fm, y: &mut [f32], ep: &Epilogue<'_>) {
    let width = padded(xf.cols);
    let mut buf = [0.0f32; 64];
    let mut t0 = 0;
    while t0 < width {
        let t = if t0 + 64 <= width { 64 } else { 16 };
        if t == 64 {
            row_tile::<4>(p, n, x, xf.ld, t0, &mut buf);
        } else {
            row_tile::<1>(p, n, x, xf.ld, t0, &mut buf);
        }
        ep.store(n, t0, &buf[..t], &mut y[t0..t0 + t]);
        t0 += t;
    }
}

pub fn pattern_sparse(
    p: &PatternPacked,
    x: &[f32],
    xf: Fm,
    y: &mut [f32],
    ld: usize,
    ep: &Epilogue<'_>,
    threads: usize,
) {
    for_each_rows(&mut y[..p.n * ld], ld, threads, |(n, yr)| row(p, n, x, xf, yr, ep));
}
