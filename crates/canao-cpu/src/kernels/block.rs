//! Block-sparse weight x activation. Each strip of H output rows keeps an H x T accumulator tile
//! in registers; every kept weight column loads one run of T tokens once and multiplies it by H
//! broadcast weights, so the work per load grows with the block height.

use rayon::prelude::*;

use crate::isa::{Isa, Kernel};
use crate::kernels::epilogue::Epilogue;
use crate::kernels::simd::{self, RowsIn};
use crate::kernels::{Cx, Fm};
use crate::pack::{BlockPacked, Strip};
use crate::padded;

/// Portable tile: H rows x 16 tokens from `t0`, into `out` rows at stride `out_ld`; weights
/// as in [`RowsIn`].
#[inline(always)]
fn tile16<const H: usize>(input: RowsIn<'_>, t0: usize, out: &mut [f32], out_ld: usize) {
    let RowsIn {
        cols,
        vals,
        ws: (wk, wi),
        x,
        ld,
    } = input;
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

/// The register-tiled product at the heart of every weight format: for H output rows, the sum
/// over kept columns of (H weights) x (one run of tokens), over tokens `0..width` (a multiple
/// of 16), written raw into `out` (H rows at stride `out_ld`); then `finish(out, row, 0, width)`
/// is called on each finished row (for an epilogue), in the same instruction-set context.
struct RowsProduct<'a, const H: usize, F> {
    input: RowsIn<'a>,
    width: usize,
    out: &'a mut [f32],
    out_ld: usize,
    finish: F,
}

impl<const H: usize, F: FnMut(&mut [f32], usize, usize, usize)> Kernel for RowsProduct<'_, H, F> {
    type Output = ();

    #[inline(always)]
    fn simd<S: pulp::Simd>(mut self, s: S) {
        simd::block_rows::<S, H>(s, self.input, self.width, self.out, self.out_ld);
        self.finish_rows();
    }

    fn portable(mut self) {
        for t0 in (0..self.width).step_by(16) {
            tile16::<H>(self.input, t0, &mut self.out[t0..], self.out_ld);
        }
        self.finish_rows();
    }
}

impl<const H: usize, F: FnMut(&mut [f32], usize, usize, usize)> RowsProduct<'_, H, F> {
    /// Finishing whole rows once, rather than per tile, keeps the epilogue's loops long.
    #[inline(always)]
    fn finish_rows(&mut self) {
        for i in 0..H {
            (self.finish)(self.out, i, 0, self.width);
        }
    }
}

/// [`RowsProduct`] for a run-time height of 8, 4 or 1 (the strip heights) on `isa`.
pub(crate) fn rows_product(
    isa: Isa,
    h: usize,
    input: RowsIn<'_>,
    width: usize,
    (out, out_ld): (&mut [f32], usize),
    finish: impl FnMut(&mut [f32], usize, usize, usize),
) {
    fn run<const H: usize>(
        isa: Isa,
        input: RowsIn<'_>,
        width: usize,
        (out, out_ld): (&mut [f32], usize),
        finish: impl FnMut(&mut [f32], usize, usize, usize),
    ) {
        isa.run(RowsProduct::<H, _> {
            input,
            width,
            out,
            out_ld,
            finish,
        });
    }
    match h {
        8 => run::<8>(isa, input, width, (out, out_ld), finish),
        4 => run::<4>(isa, input, width, (out, out_ld), finish),
        1 => run::<1>(isa, input, width, (out, out_ld), finish),
        _ => unreachable!("strips are 8, 4 or 1 rows high"),
    }
}

fn run_strip(
    isa: Isa,
    (p, s): (&BlockPacked, &Strip),
    (x, xf): (&[f32], Fm),
    (y, ld): (&mut [f32], usize),
    ep: &Epilogue<'_>,
) {
    let input = RowsIn {
        cols: &p.cols[s.blocks.0..s.blocks.1],
        vals: &p.vals[s.vals..],
        ws: (s.rows, 1),
        x,
        ld: xf.ld,
    };
    rows_product(isa, s.rows, input, padded(xf.cols), (y, ld), |y, i, t0, t| {
        ep.apply_in_place(s.row0 + i, t0, &mut y[i * ld + t0..i * ld + t0 + t]);
    });
}

/// Y = W X for block-sparse W; `y` holds rows 0..n with stride `ld`.
pub fn block_sparse(p: &BlockPacked, x: &[f32], xf: Fm, y: &mut [f32], ld: usize, ep: &Epilogue<'_>, cx: Cx) {
    // Strips cover rows 0..n in order, so Y splits into one disjoint row range per strip.
    let mut rest = &mut y[..p.n * ld];
    if cx.threads() <= 1 {
        for s in &p.strips {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(s.rows * ld);
            run_strip(cx.isa(), (p, s), (x, xf), (mine, ld), ep);
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
        .for_each(|(s, mine)| run_strip(cx.isa(), (p, s), (x, xf), (mine, ld), ep));
}
