//! Unstructured (one-row block) weight x activation. No two output rows share a kept column, so
//! a register tile cannot reuse a loaded token run across rows as the block kernel does; what
//! rows can share is the cache. The kernel sweeps the activation in chunks of feature rows at
//! one token tile (see [`crate::pack::chunk_for`]) and runs every output row's
//! terms in that chunk against it, accumulating each row's tile in the output between chunks.

use crate::isa::Kernel;
use crate::kernels::epilogue::Epilogue;
use crate::kernels::simd;
use crate::kernels::{Cx, Fm, for_each_rows};
use crate::pack::{ROW_BLOCK, UnstructuredPacked};
use crate::padded;

/// Tokens per tile: the 128 tokens of a BERT sequence in one sweep (8 AVX-512 vectors; AVX2
/// and NEON take it in passes that fit their registers, see `simd::unstructured_group`).
const TILE: usize = 128;

/// Portable form of `simd::unstructured_group` (and its definition), for a tile of `t` tokens.
fn group_portable(
    p: &UnstructuredPacked,
    (chunk, block): (usize, usize),
    x: &[f32],
    ld: usize,
    (t0, t): (usize, usize),
    (y, y_ld, row0): (&mut [f32], usize, usize),
) {
    for s in p.group(chunk, block) {
        let out = &mut y[(s.row as usize - row0) * y_ld + t0..][..t];
        let (cols, vals) = p.terms(s);
        for (&c, &w) in cols.iter().zip(vals) {
            let xr = &x[c as usize * ld + t0..][..t];
            for (o, &xv) in out.iter_mut().zip(xr) {
                *o = w.mul_add(xv, *o);
            }
        }
    }
}

/// Row blocks `blocks` of the product into `y` (their rows, stride `ld`).
struct Sweep<'a> {
    p: &'a UnstructuredPacked,
    blocks: std::ops::Range<usize>,
    x: &'a [f32],
    xf: Fm,
    y: &'a mut [f32],
    ld: usize,
    ep: &'a Epilogue<'a>,
}

/// A group's terms at one tile: (chunk, block), x and its stride, (t0, t), (y, stride, row0).
type GroupFn<'f> = dyn FnMut((usize, usize), (&[f32], usize), (usize, usize), (&mut [f32], usize, usize)) + 'f;

impl Sweep<'_> {
    /// Token tiles of TILE, then 16: zero the tile, add every chunk's groups with `group`, then
    /// the epilogue.
    #[inline(always)]
    fn each_tile(self, group: &mut GroupFn<'_>) {
        let Sweep {
            p,
            blocks,
            x,
            xf,
            y,
            ld,
            ep,
        } = self;
        let (width, row0) = (padded(xf.cols), blocks.start * ROW_BLOCK);
        let mut t0 = 0;
        while t0 < width {
            let t = if t0 + TILE <= width { TILE } else { 16 };
            for yr in y.chunks_exact_mut(ld) {
                yr[t0..t0 + t].fill(0.0);
            }
            for chunk in 0..p.chunks() {
                for block in blocks.clone() {
                    group((chunk, block), (x, xf.ld), (t0, t), (&mut *y, ld, row0));
                }
            }
            for (i, yr) in y.chunks_exact_mut(ld).enumerate() {
                ep.apply_in_place(row0 + i, t0, &mut yr[t0..t0 + t]);
            }
            t0 += t;
        }
    }
}

impl Kernel for Sweep<'_> {
    type Output = ();

    #[inline(always)]
    fn simd<S: pulp::Simd>(self, s: S) {
        let p = self.p;
        self.each_tile(&mut |g, x, t, y| simd::unstructured_group(s, p, g, x, t, y));
    }

    fn portable(self) {
        let p = self.p;
        self.each_tile(&mut |g, (x, ld), t, y| group_portable(p, g, x, ld, t, y));
    }
}

/// Tile passes a sweep makes over `width` (padded) tokens: whole tiles, then 16 at a time.
pub(crate) fn tile_passes(width: usize) -> usize {
    width / TILE + (width % TILE) / 16
}

/// Row blocks swept together: their output tiles (512 rows x 128 tokens, 256 KiB) stay in L2
/// from one chunk to the next. Sweeping all of a 3072-row layer at once streams 1.5 MiB of
/// tiles per chunk; at 768 x 3072 that was 15 to 25 % slower (`canao bench kernels`, d = 0.5 to
/// 0.1, consecutive runs).
const SWEEP_BLOCKS: usize = 8;

/// Y = W X for unstructured W; `y` holds rows 0..n with stride `ld`. Row blocks are swept in
/// groups; threads take whole groups and share the activation read-only.
pub fn unstructured(p: &UnstructuredPacked, x: &[f32], xf: Fm, y: &mut [f32], ld: usize, ep: &Epilogue<'_>, cx: Cx) {
    let blocks = p.row_blocks();
    if blocks == 0 || ld == 0 {
        return;
    }
    let span = if cx.threads() <= 1 {
        SWEEP_BLOCKS
    } else {
        SWEEP_BLOCKS.min(blocks.div_ceil(cx.threads()))
    };
    for_each_rows(&mut y[..p.n() * ld], span * ROW_BLOCK * ld, cx.threads(), |(g, y)| {
        let blocks = g * span..((g + 1) * span).min(blocks);
        cx.isa().run(Sweep {
            p,
            blocks,
            x,
            xf,
            y,
            ld,
            ep,
        });
    });
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::isa::Isa;

    /// The whole product against a plain loop over the masked weight on every instruction set
    /// here, with more rows than one sweep holds, on one thread and on two, at densities that
    /// give every chunk length, over a token count with a tail tile.
    #[test]
    fn sweeps_cover_every_row() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (n, k, tokens) = (SWEEP_BLOCKS * ROW_BLOCK + 70, 301, 140);
        let ld = padded(tokens);
        for density in [0.0, 0.05, 0.3, 1.0] {
            let mask: Vec<bool> = (0..n * k).map(|_| rng.random_bool(density)).collect();
            let w: Vec<f32> = (0..n * k).map(|_| rng.random_range(-1.0..1.0)).collect();
            let p = UnstructuredPacked::new(n, k, [1, 1], &mask, &w);
            let x: Vec<f32> = (0..k * ld).map(|_| rng.random_range(-1.0..1.0)).collect();
            let xf = Fm {
                rows: k,
                cols: tokens,
                ld,
            };
            let want: Vec<f32> = (0..n * tokens)
                .map(|i| {
                    let (r, t) = (i / tokens, i % tokens);
                    (0..k)
                        .filter(|&c| mask[r * k + c])
                        .map(|c| w[r * k + c] * x[c * ld + t])
                        .sum()
                })
                .collect();
            for isa in Isa::available() {
                for threads in [1, 2] {
                    let mut y = vec![f32::NAN; n * ld];
                    let cx = Cx::new(threads, isa).unwrap();
                    unstructured(&p, &x, xf, &mut y, ld, &Epilogue::none(), cx);
                    for (i, &want) in want.iter().enumerate() {
                        let got = y[(i / tokens) * ld + i % tokens];
                        assert!(
                            (got - want).abs() <= 1e-4,
                            "{isa}, d {density}, threads {threads}, [{}, {}]: {got} vs {want}",
                            i / tokens,
                            i % tokens
                        );
                    }
                }
            }
        }
    }
}
