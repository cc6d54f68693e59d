//! Block-sparse weight x activation. Each strip of H output rows keeps an H x T accumulator tile
//! in registers; every kept weight column loads one run of T tokens once and multiplies it by H
//! broadcast weights, so the work per load grows with the block height.

use rayon::prelude::*;

use crate::kernels::Fm;
use crate::kernels::epilogue::Epilogue;
#[cfg(target_arch = "x86_64")]
use crate::kernels::simd;
use crate::pack::{BlockPacked, Strip};
use crate::padded;

/// Portable tile: H rows x 16 tokens from `t0`, into `out` rows at stride `out_ld`; weights
/// as in [`simd::block_tile`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile16<const H: usize>(
    cols: &[(u32, u32)],
    vals: &[f32],
    (wk, wi): (usize, usize),
    x: &[f32],
    ld: usize,
    t0: usize,
    out: &mut [f32],
    out_ld: usize,
) {
    let mut acc = [[0.0f32; 16]; H];
    let mut c = 0;
    for &(c0, cw) in cols {
        for kk in c0 as usize..(c0 + cw) as usize {
            let xr: &[f32; 16] = x[kk * ld + t0..kk * ld + t0 + 16].try_into().expect("16 columns");
            for (i, a) in acc.iter_mut().enumerate() {
                let w = vals[c * wk + i * wi];
                for t in 0..16 {
                    a[t] = w.mul_add(xr[t], a[t]);
                }
            }
            c += 1;
        }
    }
    for (i, a) in acc.iter().enumerate() {
        out[i * out_ld..i * out_ld + 16].copy_from_slice(a);
    }
}

/// H rows x 16V tokens into `out` rows at stride `out_ld`: AVX-512 when present, else 16 at a
/// time.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<const H: usize, const V: usize>(
    cols: &[(u32, u32)],
    vals: &[f32],
    ws: (usize, usize),
    x: &[f32],
    ld: usize,
    t0: usize,
    out: &mut [f32],
    out_ld: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        return simd::block_tile::<H, V>(cols, vals, ws, x, ld, t0, out, out_ld);
    }
    for v in 0..V {
        tile16::<H>(cols, vals, ws, x, ld, t0 + 16 * v, &mut out[16 * v..], out_ld);
    }
}

/// The register-tiled product at the heart of every weight format: for H output rows, the sum
/// over kept columns of (H weights, at strides `ws` as in [`simd::block_tile`]) x (one run of
/// tokens), over tokens
/// `0..width` in tiles of 16V (then 16), written raw into `out` (H rows at stride `out_ld`);
/// then `finish(out, row, 0, width)` is called on each finished row (for an epilogue).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn rows_product<const H: usize, const V: usize>(
    cols: &[(u32, u32)],
    vals: &[f32],
    ws: (usize, usize),
    x: &[f32],
    ld: usize,
    width: usize,
    out: &mut [f32],
    out_ld: usize,
    mut finish: impl FnMut(&mut [f32], usize, usize, usize),
) {
    let mut t0 = 0;
    while t0 < width {
        let t = if t0 + 16 * V <= width { 16 * V } else { 16 };
        if t == 16 * V {
            tile::<H, V>(cols, vals, ws, x, ld, t0, &mut out[t0..], out_ld);
        } else {
            tile::<H, 1>(cols, vals, ws, x, ld, t0, &mut out[t0..], out_ld);
        }
        t0 += t;
    }
    // Finishing whole rows once, rather than per tile, keeps the epilogue's loops long.
    for i in 0..H {
        finish(out, i, 0, width);
    }
}

/// [`rows_product`] for a run-time height of 8, 4 or 1 (the strip heights).
#[allow(clippy::too_many_arguments)]
pub(crate) fn rows_product_dyn(
    h: usize,
    cols: &[(u32, u32)],
    vals: &[f32],
    ws: (usize, usize),
    x: &[f32],
    ld: usize,
    width: usize,
    out: &mut [f32],
    out_ld: usize,
    finish: impl FnMut(&mut [f32], usize, usize, usize),
) {
    match h {
        8 => rows_product::<8, 2>(cols, vals, ws, x, ld, width, out, out_ld, finish),
        4 => rows_product::<4, 4>(cols, vals, ws, x, ld, width, out, out_ld, finish),
        1 => rows_product::<1, 8>(cols, vals, ws, x, ld, width, out, out_ld, finish),
        _ => unreachable!("strips are 8, 4 or 1 rows high"),
    }
}

fn run_strip(p: &BlockPacked, s: &Strip, x: &[f32], xf: Fm, y: &mut [f32], ld: usize, ep: &Epilogue<'_>) {
    let cols = &p.cols[s.blocks.0..s.blocks.1];
    rows_product_dyn(
        s.rows,
        cols,
        &p.vals[s.vals..],
        (s.rows, 1),
        x,
        xf.ld,
        padded(xf.cols),
        y,
        ld,
        |y, i, t0, t| {
            ep.apply_in_place(s.row0 + i, t0, &mut y[i * ld + t0..i * ld + t0 + t]);
        },
    );
}

/// Y = W X for block-sparse W; `y` holds rows 0..n with stride `ld`.
pub fn block_sparse(p: &BlockPacked, x: &[f32], xf: Fm, y: &mut [f32], ld: usize, ep: &Epilogue<'_>, threads: usize) {
    // Strips cover rows 0..n in order, so Y splits into one disjoint row range per strip.
    let mut rest = &mut y[..p.n * ld];
    if threads <= 1 {
        for s in &p.strips {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(s.rows * ld);
            run_strip(p, s, x, xf, mine, ld, ep);
            rest = tail;
        }
        return;
    }
    let mut slices = Vec::with_capacity(p.strips.len());
    for s in &p.strips {
        let (mine, tail) = std::mem::take(&mut rest).split_at_mut(s.rows * ld);
        slices.push(mine);
        rest = tail;
    }
    p.strips
        .par_iter()
        .zip(slices)
        .for_each(|(s, mine)| run_strip(p, s, x, xf, mine, ld, ep));
}
