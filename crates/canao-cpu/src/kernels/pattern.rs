//! Pattern-sparse weight x activation, one block row at a time: each piece (a pattern's column
//! and the rows keeping it) runs over every block of its group with one accumulator row per
//! kept row, so the rows of a block share each activation load although their columns differ.

use crate::isa::Kernel;
use crate::kernels::epilogue::Epilogue;
use crate::kernels::simd;
use crate::kernels::{Cx, Fm, for_each_rows};
use crate::pack::PatternPacked;
use crate::padded;

/// Block row `bi`'s product over tokens 0..width added into `y`: the portable loop (the
/// definition the vector path is tested against).
fn block_row_portable(
    p: &PatternPacked,
    bi: usize,
    (x, ld): (&[f32], usize),
    width: usize,
    (y, y_ld): (&mut [f32], usize),
) {
    for g in &p.groups[bi] {
        let blocks = p.blocks(g);
        let mut w = &p.vals[g.vals..];
        for piece in &p.programs[g.program].pieces {
            for &c0 in blocks {
                let xr = &x[(c0 as usize + usize::from(piece.col)) * ld..][..width];
                for (&r, &wv) in piece.rows.iter().zip(w) {
                    let out = &mut y[usize::from(r) * y_ld..][..width];
                    out.iter_mut().zip(xr).for_each(|(o, &xv)| *o = wv.mul_add(xv, *o));
                }
                w = &w[piece.rows.len()..];
            }
        }
    }
}

/// One block row of the output over every token, through the epilogue.
struct BlockRow<'a> {
    p: &'a PatternPacked,
    bi: usize,
    x: &'a [f32],
    xf: Fm,
    /// The block row's output rows, stride `ld`.
    y: &'a mut [f32],
    ld: usize,
    ep: &'a Epilogue<'a>,
}

impl BlockRow<'_> {
    /// Zeroes the block row's outputs, lets `add` accumulate the product into them, then runs
    /// the epilogue on each row.
    #[inline(always)]
    fn with(self, add: impl FnOnce(&PatternPacked, usize, (&[f32], usize), usize, (&mut [f32], usize))) {
        let width = padded(self.xf.cols);
        let rows = self.y.len().div_ceil(self.ld);
        for r in 0..rows {
            self.y[r * self.ld..][..width].fill(0.0);
        }
        add(self.p, self.bi, (self.x, self.xf.ld), width, (&mut *self.y, self.ld));
        let row0 = self.bi * self.p.block[0];
        for r in 0..rows {
            self.ep.apply_in_place(row0 + r, 0, &mut self.y[r * self.ld..][..width]);
        }
    }
}

impl Kernel for BlockRow<'_> {
    type Output = ();

    #[inline(always)]
    fn simd<S: pulp::Simd>(self, s: S) {
        self.with(|p, bi, x, width, y| simd::pattern_block_row(s, p, bi, x, width, y));
    }

    fn portable(self) {
        self.with(block_row_portable);
    }
}

pub fn pattern_sparse(p: &PatternPacked, x: &[f32], xf: Fm, y: &mut [f32], ld: usize, ep: &Epilogue<'_>, cx: Cx) {
    let r = p.block[0];
    for_each_rows(&mut y[..p.n * ld], r * ld, cx.threads(), |(bi, y)| {
        cx.isa().run(BlockRow {
            p,
            bi,
            x,
            xf,
            y,
            ld,
            ep,
        });
    });
}
