//! Pattern-sparse weight x activation: one output row at a time with a T-token accumulator in
//! registers; blocks sharing a pattern are walked together with that pattern's column offsets.

use crate::isa::Kernel;
use crate::kernels::epilogue::Epilogue;
use crate::kernels::simd;
use crate::kernels::{Cx, Fm, for_each_rows};
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

/// Tokens t0 .. t0 + t of one row into `out[..t]`: the portable loop (the definition).
fn row_tile_portable(p: &PatternPacked, row: usize, (x, ld, t0): (&[f32], usize, usize), t: usize, out: &mut [f32]) {
    let out = &mut out[..t];
    out.fill(0.0);
    for (k, w) in terms(p, row) {
        for (o, &xv) in out.iter_mut().zip(&x[k * ld + t0..k * ld + t0 + t]) {
            *o = w.mul_add(xv, *o);
        }
    }
}

/// One output row over every token, through the epilogue into `y`.
struct Row<'a> {
    p: &'a PatternPacked,
    n: usize,
    x: &'a [f32],
    xf: Fm,
    y: &'a mut [f32],
    ep: &'a Epilogue<'a>,
}

impl Row<'_> {
    /// Tiles of 64 tokens, then 16, each made by `tile(t0, t, buf)` and stored through the
    /// epilogue.
    #[inline(always)]
    fn each_tile(self, mut tile: impl FnMut(usize, usize, &mut [f32])) {
        let width = padded(self.xf.cols);
        let mut buf = [0.0f32; 64];
        let mut t0 = 0;
        while t0 < width {
            let t = if t0 + 64 <= width { 64 } else { 16 };
            tile(t0, t, &mut buf);
            self.ep.store(self.n, t0, &buf[..t], &mut self.y[t0..t0 + t]);
            t0 += t;
        }
    }
}

impl Kernel for Row<'_> {
    type Output = ();

    #[inline(always)]
    fn simd<S: pulp::Simd>(self, s: S) {
        let (p, n, x, ld) = (self.p, self.n, self.x, self.xf.ld);
        simd::check_pattern_row(p, n, x, ld);
        self.each_tile(|t0, t, buf| simd::pattern_row(s, p, n, (x, ld, t0), t, buf));
    }

    fn portable(self) {
        let (p, n, x, ld) = (self.p, self.n, self.x, self.xf.ld);
        self.each_tile(|t0, t, buf| row_tile_portable(p, n, (x, ld, t0), t, buf));
    }
}

pub fn pattern_sparse(p: &PatternPacked, x: &[f32], xf: Fm, y: &mut [f32], ld: usize, ep: &Epilogue<'_>, cx: Cx) {
    for_each_rows(&mut y[..p.n * ld], ld, cx.threads(), |(n, y)| {
        cx.isa().run(Row { p, n, x, xf, y, ep });
    });
}
