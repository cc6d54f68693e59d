//! Unstructured (one-row block) weight x activation. No two output rows share a kept column, so
//! a register tile cannot reuse a loaded token run across rows as the block kernel does; what
//! rows can share is the cache. The kernel sweeps the activation in chunks of feature rows at
//! one token tile (see [`crate::pack::chunk_for`]) and runs every output row's
//! terms in that chunk against it, accumulating each row's tile in the output between chunks.

use crate::kernels::epilogue::Epilogue;
#[cfg(target_arch = "x86_64")]
use crate::kernels::simd;
use crate::kernels::{Fm, for_each_rows};
use crate::pack::{ROW_BLOCK, UnstructuredPacked};
use crate::padded;

/// Tokens per tile: 8 AVX-512 vectors, the 128 tokens of a BERT sequence in one sweep.
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

/// One group's terms at one tile of `t` tokens (TILE or 16), added into `y`.
fn group_tile(
    p: &UnstructuredPacked,
    (chunk, block): (usize, usize),
    x: &[f32],
    ld: usize,
    (t0, t): (usize, usize),
    y: (&mut [f32], usize, usize),
) {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        return match t {
            TILE => simd::unstructured_group::<{ TILE / 16 }>(p, chunk, block, x, ld, t0, y),
            _ => simd::unstructured_group::<1>(p, chunk, block, x, ld, t0, y),
        };
    }
    group_portable(p, (chunk, block), x, ld, (t0, t), y);
}

/// Row blocks `blocks` of the product into `y` (their rows, stride `ld`).
fn run_blocks(
    p: &UnstructuredPacked,
    blocks: std::ops::Range<usize>,
    x: &[f32],
    xf: Fm,
    y: &mut [f32],
    ld: usize,
    ep: &Epilogue<'_>,
) {
    let (width, row0) = (padded(xf.cols), blocks.start * ROW_BLOCK);
    let mut t0 = 0;
    while t0 < width {
        let t = if t0 + TILE <= width { TILE } else { 16 };
        for yr in y.chunks_exact_mut(ld) {
            yr[t0..t0 + t].fill(0.0);
        }
        for chunk in 0..p.chunks() {
            for block in blocks.clone() {
                group_tile(p, (chunk, block), x, xf.ld, (t0, t), (&mut *y, ld, row0));
            }
        }
        for (i, yr) in y.chunks_exact_mut(ld).enumerate() {
            ep.apply_in_place(row0 + i, t0, &mut yr[t0..t0 + t]);
        }
        t0 += t;
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
pub fn unstructured(
    p: &UnstructuredPacked,
    x: &[f32],
    xf: Fm,
    y: &mut [f32],
    ld: usize,
    ep: &Epilogue<'_>,
    threads: usize,
) {
    let blocks = p.row_blocks();
    if blocks == 0 || ld == 0 {
        return;
    }
    let span = if threads <= 1 {
        SWEEP_BLOCKS
    } else {
        SWEEP_BLOCKS.min(blocks.div_ceil(threads))
    };
    for_each_rows(&mut y[..p.n() * ld], span * ROW_BLOCK * ld, threads, |(g, ys)| {
        run_blocks(p, g * span..((g + 1) * span).min(blocks), x, xf, ys, ld, ep);
    });
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// The whole product against a plain loop over the masked weight, with more rows than one
    /// sweep holds, on one thread and on two.
    #[test]
    fn sweeps_cover_every_row() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (n, k, tokens) = (SWEEP_BLOCKS * ROW_BLOCK + 70, 200, 140);
        let ld = padded(tokens);
        let mask: Vec<bool> = (0..n * k).map(|_| rng.random_bool(0.2)).collect();
        let w: Vec<f32> = (0..n * k).map(|_| rng.random_range(-1.0..1.0)).collect();
        let p = UnstructuredPacked::new(n, k, [1, 1], &mask, &w);
        let x: Vec<f32> = (0..k * ld).map(|_| rng.random_range(-1.0..1.0)).collect();
        let xf = Fm {
            rows: k,
            cols: tokens,
            ld,
        };
        for threads in [1, 2] {
            let mut y = vec![f32::NAN; n * ld];
            unstructured(&p, &x, xf, &mut y, ld, &Epilogue::none(), threads);
            for r in 0..n {
                for t in 0..tokens {
                    let want: f32 = (0..k)
                        .filter(|&c| mask[r * k + c])
                        .map(|c| w[r * k + c] * x[c * ld + t])
                        .sum();
                    let got = y[r * ld + t];
                    assert!(
                        (got - want).abs() <= 1e-4,
                        "threads {threads} [{r}, {t}]: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    /// The AVX-512 path against the portable one, group by group: every density's chunk length,
    /// both tile widths, two row blocks.
    #[test]
    fn simd_matches_portable() {
        if !simd::available() {
            eprintln!("SKIP: no AVX-512F here, only the portable path runs");
            return;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (n, k, ld) = (ROW_BLOCK + 13, 301, 144);
        for density in [0.0, 0.05, 0.3, 1.0] {
            let mask: Vec<bool> = (0..n * k).map(|_| rng.random_bool(density)).collect();
            let w: Vec<f32> = (0..n * k).map(|_| rng.random_range(-1.0..1.0)).collect();
            let p = UnstructuredPacked::new(n, k, [1, 1], &mask, &w);
            let x: Vec<f32> = (0..k * ld).map(|_| rng.random_range(-1.0..1.0)).collect();
            let start: Vec<f32> = (0..n * ld).map(|_| rng.random_range(-1.0..1.0)).collect();
            for (t0, t) in [(0, TILE), (TILE, 16)] {
                for chunk in 0..p.chunks() {
                    for block in 0..p.row_blocks() {
                        let (mut want, mut got) = (start.clone(), start.clone());
                        group_portable(&p, (chunk, block), &x, ld, (t0, t), (&mut want, ld, 0));
                        match t {
                            TILE => simd::unstructured_group::<{ TILE / 16 }>(
                                &p,
                                chunk,
                                block,
                                &x,
                                ld,
                                t0,
                                (&mut got, ld, 0),
                            ),
                            _ => simd::unstructured_group::<1>(&p, chunk, block, &x, ld, t0, (&mut got, ld, 0)),
                        }
                        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                            assert!(
                                (a - b).abs() <= 1e-4,
                                "d {density} chunk {chunk} block {block} [{i}]: {a} vs {b}"
                            );
                        }
                    }
                }
            }
        }
    }
}
