//! The register-tiled microkernels, written once over pulp's `Simd` and compiled by
//! [`crate::Isa::run`] for AVX-512, AVX2 + FMA and NEON. Each has a safe entry that checks every
//! bound once and then runs raw-pointer loops; the portable loops beside each caller
//! (`block.rs`, `pattern.rs`, `unstructured.rs`) are the definition these are tested against.
//!
//! Tile shapes differ per instruction set because the register files do: H rows x V vectors of
//! accumulators, plus V loaded token vectors and one broadcast weight, must fit in 32 registers
//! (AVX-512, NEON) or 16 (AVX2) without spilling.
#![allow(unsafe_code)]

use pulp::Simd;

use crate::pack::{PIECE_ROWS, PatternPacked, ROW_BLOCK, UnstructuredPacked};

/// One vector of `S` from `p` (no alignment needed).
///
/// # Safety
/// `p .. p + S::F32_LANES` must be readable.
#[inline(always)]
unsafe fn load<S: Simd>(p: *const f32) -> S::f32s {
    // SAFETY: the caller guarantees the lanes are readable; f32s is plain f32 data.
    unsafe { p.cast::<S::f32s>().read_unaligned() }
}

/// # Safety
/// `p .. p + S::F32_LANES` must be writable.
#[inline(always)]
unsafe fn store<S: Simd>(p: *mut f32, v: S::f32s) {
    // SAFETY: as for `load`.
    unsafe { p.cast::<S::f32s>().write_unaligned(v) }
}

/// Weights and activation of a block-row product, as `kernels::block::rows_product` takes them:
/// the kept column runs, the weights (w(c, i) = vals[c * wk + i * wi] for the c-th kept
/// column and row i), and the activation rows of stride `ld`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowsIn<'a> {
    pub cols: &'a [(u32, u32)],
    pub vals: &'a [f32],
    pub ws: (usize, usize),
    pub x: &'a [f32],
    pub ld: usize,
}

impl RowsIn<'_> {
    /// Panics unless a product of H rows over tokens 0..width into `out` (stride `out_ld`)
    /// stays inside every slice.
    pub fn check(&self, h: usize, width: usize, out_len: usize, out_ld: usize) {
        let rows = self.x.len() / self.ld.max(1);
        let kept: usize = self
            .cols
            .iter()
            .map(|&(c0, cw)| {
                assert!((c0 + cw) as usize <= rows, "block column outside the activation");
                cw as usize
            })
            .sum();
        assert!(
            width <= self.ld && width.is_multiple_of(16),
            "token range outside the activation rows"
        );
        let (wk, wi) = self.ws;
        assert!(
            kept == 0 || (kept - 1) * wk + (h - 1) * wi < self.vals.len(),
            "weights out of bounds"
        );
        assert!(
            width == 0 || (h - 1) * out_ld + width <= out_len,
            "output rows out of bounds"
        );
    }
}

/// acc[H][V] over the kept columns for tokens t0 .. t0 + V lanes, stored to H rows of `out`.
///
/// # Safety
/// `RowsIn::check(H, t0 + V * lanes, ..)` must hold for `input` and `out`.
#[inline(always)]
unsafe fn block_tile<S: Simd, const H: usize, const V: usize>(
    s: S,
    input: RowsIn<'_>,
    t0: usize,
    out: *mut f32,
    out_ld: usize,
) {
    let lanes = S::F32_LANES;
    let (wk, wi) = input.ws;
    let zero = s.splat_f32s(0.0);
    let mut acc = [[zero; V]; H];
    let xp = input.x.as_ptr();
    let mut wp = input.vals.as_ptr();
    for &(c0, cw) in input.cols {
        for kk in c0 as usize..(c0 + cw) as usize {
            // SAFETY: kk is a kept column below the activation's rows and the token tile lies
            // inside a row; the weight indices stay inside `vals` (all checked by the caller).
            let row = unsafe { xp.add(kk * input.ld + t0) };
            let mut xs = [zero; V];
            for (v, xv) in xs.iter_mut().enumerate() {
                *xv = unsafe { load::<S>(row.add(lanes * v)) };
            }
            for (i, acc_row) in acc.iter_mut().enumerate() {
                let w = s.splat_f32s(unsafe { *wp.add(i * wi) });
                for (a, &xv) in acc_row.iter_mut().zip(&xs) {
                    *a = s.mul_add_e_f32s(w, xv, *a);
                }
            }
            // After the last column the pointer may pass the end; it is never read then.
            wp = wp.wrapping_add(wk);
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (v, &a) in acc_row.iter().enumerate() {
            // SAFETY: H rows of the tile at stride out_ld are inside `out` (checked by the caller).
            unsafe { store::<S>(out.add(i * out_ld + lanes * v), a) };
        }
    }
}

/// Tiles of V vectors over 0..width, then single vectors for the rest (width is a multiple of
/// 16, so of every lane count).
///
/// # Safety
/// As [`block_tile`] for the whole width.
#[inline(always)]
unsafe fn block_tiles<S: Simd, const H: usize, const V: usize>(
    s: S,
    input: RowsIn<'_>,
    width: usize,
    out: *mut f32,
    out_ld: usize,
) {
    let lanes = S::F32_LANES;
    let mut t0 = 0;
    while t0 + V * lanes <= width {
        // SAFETY: the tile ends at or before `width` (the caller's bound).
        unsafe { block_tile::<S, H, V>(s, input, t0, out.add(t0), out_ld) };
        t0 += V * lanes;
    }
    while t0 < width {
        unsafe { block_tile::<S, H, 1>(s, input, t0, out.add(t0), out_ld) };
        t0 += lanes;
    }
}

/// The raw product of H rows over tokens 0..width into `out` (H rows at stride `out_ld`), in
/// the tile shape that fits this instruction set's registers.
///
/// Panics unless every access is in bounds (see [`RowsIn::check`]).
#[inline(always)]
pub(crate) fn block_rows<S: Simd, const H: usize>(
    s: S,
    input: RowsIn<'_>,
    width: usize,
    out: &mut [f32],
    out_ld: usize,
) {
    input.check(H, width, out.len(), out_ld);
    let out = out.as_mut_ptr();
    // SAFETY: checked above for the whole width.
    unsafe {
        match (H, S::F32_LANES) {
            (8, 16) => block_tiles::<S, H, 2>(s, input, width, out, out_ld),
            (4, 16) => block_tiles::<S, H, 4>(s, input, width, out, out_ld),
            // AVX2's 16 registers hold 8 rows x 1 vector, which loads a broadcast weight per
            // FMA; two passes of 4 rows x 3 vectors load 7 values per 12 FMAs instead.
            (8, 8) => {
                block_tiles::<S, 4, 3>(s, input, width, out, out_ld);
                // A strip with no kept column may have no weights at all.
                let lower = RowsIn {
                    vals: input.vals.get(4 * input.ws.1..).unwrap_or(&[]),
                    ..input
                };
                block_tiles::<S, 4, 3>(s, lower, width, out.add(4 * out_ld), out_ld);
            }
            (4, 8) => block_tiles::<S, H, 3>(s, input, width, out, out_ld),
            (8, 4) => block_tiles::<S, H, 2>(s, input, width, out, out_ld),
            (4, 4) => block_tiles::<S, H, 4>(s, input, width, out, out_ld),
            _ => block_tiles::<S, H, 8>(s, input, width, out, out_ld),
        }
    }
}

/// One piece of a pattern-sparse weight over every block of its group, for tokens of one tile:
/// acc[H][V] gains w * x[c0 + col] per block, then is added into the piece's H output rows.
///
/// # Safety
/// `x` points at activation row `col`, token t0; every `x + c0 * ld` row of the tile is
/// readable; `w + b * stride + h` is readable for every block b and h < H; `y` points at the
/// block row's first output row, token t0, and every `rows[h]` row of the tile is writable.
#[inline(always)]
unsafe fn pattern_piece<S: Simd, const H: usize, const V: usize>(
    s: S,
    (x, ld, blocks): (*const f32, usize, &[u32]),
    (w, stride): (*const f32, usize),
    rows: &[u16],
    (y, y_ld): (*mut f32, usize),
) {
    let lanes = S::F32_LANES;
    let zero = s.splat_f32s(0.0);
    let mut acc = [[zero; V]; H];
    let mut wp = w;
    // SAFETY (every access below): bounds guaranteed by the caller.
    for &c0 in blocks {
        let row = unsafe { x.add(c0 as usize * ld) };
        let mut xs = [zero; V];
        for (v, xv) in xs.iter_mut().enumerate() {
            *xv = unsafe { load::<S>(row.add(lanes * v)) };
        }
        for (h, acc_row) in acc.iter_mut().enumerate() {
            let wv = s.splat_f32s(unsafe { *wp.add(h) });
            for (a, &xv) in acc_row.iter_mut().zip(&xs) {
                *a = s.mul_add_e_f32s(wv, xv, *a);
            }
        }
        // After the last block the pointer may pass the end; it is never read then.
        wp = wp.wrapping_add(stride);
    }
    for (acc_row, &r) in acc.iter().zip(rows) {
        let out = unsafe { y.add(usize::from(r) * y_ld) };
        for (v, &a) in acc_row.iter().enumerate() {
            unsafe { store::<S>(out.add(lanes * v), s.add_f32s(a, load::<S>(out.add(lanes * v)))) };
        }
    }
}

/// [`pattern_piece`] for a piece of `rows.len()` rows (1 to [`PIECE_ROWS`]).
///
/// # Safety
/// As [`pattern_piece`], for H = `rows.len()` and `w` at the piece's first weight.
#[inline(always)]
unsafe fn pattern_piece_rows<S: Simd, const V: usize>(
    s: S,
    x: (*const f32, usize, &[u32]),
    w: *const f32,
    rows: &[u16],
    y: (*mut f32, usize),
) {
    // The arms below cover every height a piece may have.
    const { assert!(PIECE_ROWS == 6) };
    let w = (w, rows.len());
    // SAFETY: as the caller guarantees; the arm's H is the piece's row count.
    unsafe {
        match rows.len() {
            1 => pattern_piece::<S, 1, V>(s, x, w, rows, y),
            2 => pattern_piece::<S, 2, V>(s, x, w, rows, y),
            3 => pattern_piece::<S, 3, V>(s, x, w, rows, y),
            4 => pattern_piece::<S, 4, V>(s, x, w, rows, y),
            5 => pattern_piece::<S, 5, V>(s, x, w, rows, y),
            _ => pattern_piece::<S, 6, V>(s, x, w, rows, y),
        }
    }
}

/// Every piece of block row `bi` over tokens t0 .. t0 + V lanes, added into `y`.
///
/// # Safety
/// As [`pattern_block_row`] checks, for a tile inside a row of x and of y.
#[inline(always)]
unsafe fn pattern_tile<S: Simd, const V: usize>(
    s: S,
    p: &PatternPacked,
    bi: usize,
    (x, ld): (*const f32, usize),
    (y, y_ld): (*mut f32, usize),
) {
    for g in &p.groups[bi] {
        let blocks = p.blocks(g);
        let mut w = p.vals.as_ptr().wrapping_add(g.vals);
        for piece in &p.programs[g.program].pieces {
            let xc = x.wrapping_add(usize::from(piece.col) * ld);
            // SAFETY: checked by the caller for every piece of every group.
            unsafe { pattern_piece_rows::<S, V>(s, (xc, ld, blocks), w, &piece.rows, (y, y_ld)) };
            w = w.wrapping_add(piece.rows.len() * blocks.len());
        }
    }
}

/// Adds the product of block row `bi` of a pattern-sparse weight over tokens 0..width into `y`
/// (the block row's output rows at stride `y_ld`), tile by tile.
///
/// Panics unless x holds the weight's k rows of stride `ld` and every row of y the block row's
/// pieces reach exists, the width fits both strides, and the block row's weights lie inside
/// `p.vals`.
#[inline(always)]
pub(crate) fn pattern_block_row<S: Simd>(
    s: S,
    p: &PatternPacked,
    bi: usize,
    (x, ld): (&[f32], usize),
    width: usize,
    (y, y_ld): (&mut [f32], usize),
) {
    check_pattern_block_row(p, bi, (x, ld), width, (y.len(), y_ld));
    let (xp, yp) = (x.as_ptr(), y.as_mut_ptr());
    let lanes = S::F32_LANES;
    // Pieces of up to 6 rows x V vectors: 24 accumulators, V token vectors and a broadcast fit
    // 32 registers at V = 4 (64 tokens on AVX-512, 16 on NEON); AVX2's 16 hold V = 2 (16 tokens).
    let mut t0 = 0;
    while t0 < width {
        let (xt, yt) = (xp.wrapping_add(t0), yp.wrapping_add(t0));
        let left = width - t0;
        // SAFETY: the tile is inside a row of x and y (width checked); the rest is checked above.
        let tile = unsafe {
            match (lanes, left) {
                (16, 64..) => {
                    pattern_tile::<S, 4>(s, p, bi, (xt, ld), (yt, y_ld));
                    64
                }
                (16, 32..) => {
                    pattern_tile::<S, 2>(s, p, bi, (xt, ld), (yt, y_ld));
                    32
                }
                (16, _) => {
                    pattern_tile::<S, 1>(s, p, bi, (xt, ld), (yt, y_ld));
                    16
                }
                (8, _) => {
                    pattern_tile::<S, 2>(s, p, bi, (xt, ld), (yt, y_ld));
                    16
                }
                _ => {
                    pattern_tile::<S, 4>(s, p, bi, (xt, ld), (yt, y_ld));
                    16
                }
            }
        };
        t0 += tile;
    }
}

/// Panics unless block row `bi`'s pieces stay inside x (k rows at stride `ld`) and y (`y_len`
/// floats at stride `y_ld`) over tokens 0..width (a multiple of 16), and its weights inside
/// `p.vals`.
fn check_pattern_block_row(
    p: &PatternPacked,
    bi: usize,
    (x, ld): (&[f32], usize),
    width: usize,
    (y_len, y_ld): (usize, usize),
) {
    assert!(
        width.is_multiple_of(16) && width <= ld.min(y_ld),
        "token range outside the rows"
    );
    let x_rows = x.len() / ld.max(1);
    let y_rows = if width == 0 {
        usize::MAX
    } else {
        (y_len + y_ld - width) / y_ld.max(1)
    };
    for g in &p.groups[bi] {
        let program = &p.programs[g.program];
        let reach = program.pieces.iter().map(|q| usize::from(q.col) + 1).max().unwrap_or(0);
        let last_row = program.pieces.iter().flat_map(|q| q.rows.last()).max();
        assert!(
            p.blocks(g).iter().all(|&c0| c0 as usize + reach <= x_rows),
            "pattern column outside the activation"
        );
        assert!(
            last_row.is_none_or(|&r| usize::from(r) < y_rows),
            "pattern row outside the output"
        );
        assert!(
            program.pieces.iter().all(|q| (1..=PIECE_ROWS).contains(&q.rows.len())),
            "pattern piece taller than a tile"
        );
        assert!(
            g.vals + program.cells * p.blocks(g).len() <= p.vals.len(),
            "pattern weights out of bounds"
        );
    }
}

/// Adds every segment of one unstructured group into its row's tile of `y`, over tokens
/// t0 .. t0 + t in passes of V lanes with two accumulator sets (even and odd terms: with only
/// V chains the FMA latency, not the loads, would bound a short tile).
///
/// # Safety
/// As [`unstructured_group`] checks.
#[inline(always)]
unsafe fn unstructured_passes<S: Simd, const V: usize>(
    s: S,
    p: &UnstructuredPacked,
    (chunk, block): (usize, usize),
    (xp, ld): (*const f32, usize),
    (t0, t): (usize, usize),
    (y, y_ld, row0): (*mut f32, usize, usize),
) {
    let lanes = S::F32_LANES;
    let zero = s.splat_f32s(0.0);
    for seg in p.group(chunk, block) {
        let (cols, vals) = p.terms(seg);
        let mut pass = t0;
        while pass < t0 + t {
            // SAFETY (every access below): the segment's row is inside y, its columns inside
            // x, and the pass inside the tile (checked by the caller).
            let op = unsafe { y.add((seg.row as usize - row0) * y_ld + pass) };
            let mut acc = [[zero; V]; 2];
            for (v, a) in acc[0].iter_mut().enumerate() {
                *a = unsafe { load::<S>(op.add(lanes * v)) };
            }
            for (c, w) in cols.chunks_exact(2).zip(vals.chunks_exact(2)) {
                let r0 = unsafe { xp.add(c[0] as usize * ld + pass) };
                let r1 = unsafe { xp.add(c[1] as usize * ld + pass) };
                let (w0, w1) = (s.splat_f32s(w[0]), s.splat_f32s(w[1]));
                let [even, odd] = &mut acc;
                for (v, (a0, a1)) in even.iter_mut().zip(odd.iter_mut()).enumerate() {
                    *a0 = s.mul_add_e_f32s(w0, unsafe { load::<S>(r0.add(lanes * v)) }, *a0);
                    *a1 = s.mul_add_e_f32s(w1, unsafe { load::<S>(r1.add(lanes * v)) }, *a1);
                }
            }
            if let (Some(&c), Some(&w)) = (cols.last(), vals.last())
                && cols.len() % 2 == 1
            {
                let r = unsafe { xp.add(c as usize * ld + pass) };
                let w = s.splat_f32s(w);
                for (v, a) in acc[0].iter_mut().enumerate() {
                    *a = s.mul_add_e_f32s(w, unsafe { load::<S>(r.add(lanes * v)) }, *a);
                }
            }
            for (v, (&a0, &a1)) in acc[0].iter().zip(&acc[1]).enumerate() {
                unsafe { store::<S>(op.add(lanes * v), s.add_f32s(a0, a1)) };
            }
            pass += V * lanes;
        }
    }
}

/// Adds one group of an unstructured weight (the segments of row block `block` in chunk
/// `chunk`) over tokens t0 .. t0 + t (t = 128 or 16) into `y`, which holds output rows from
/// `row0` at stride `y_ld`: each segment's row tile gains the sum of w * x[col, t0 ..] over its
/// terms.
///
/// Panics unless x holds the weight's k rows of stride `ld`, the tile lies inside a row of x and
/// of y, and `y` holds the block's rows (columns are below k and segments' rows inside their
/// block by construction of the packed weight).
#[inline(always)]
pub(crate) fn unstructured_group<S: Simd>(
    s: S,
    p: &UnstructuredPacked,
    (chunk, block): (usize, usize),
    (x, ld): (&[f32], usize),
    (t0, t): (usize, usize),
    (y, y_ld, row0): (&mut [f32], usize, usize),
) {
    assert!(p.k() * ld <= x.len(), "activation shorter than the weight's columns");
    assert!(t0 + t <= ld.min(y_ld) && (t == 128 || t == 16), "tile out of bounds");
    assert!(chunk < p.chunks() && block < p.row_blocks(), "no such group");
    let rows = block * ROW_BLOCK..((block + 1) * ROW_BLOCK).min(p.n());
    assert!(
        row0 <= rows.start && rows.end <= row0 + y.len() / y_ld,
        "block's rows outside y"
    );
    let (xp, yp) = (x.as_ptr(), y.as_mut_ptr());
    let g = (chunk, block);
    // SAFETY: every packed column is below k, so each row read is inside x; every segment's row
    // is in the block, whose rows are inside y; every pass is inside the tile, which is inside
    // a row of x and of y: all asserted above or guaranteed by packing.
    unsafe {
        match (t, S::F32_LANES) {
            (128, 16) => unstructured_passes::<S, 8>(s, p, g, (xp, ld), (t0, t), (yp, y_ld, row0)),
            (128, 8) => unstructured_passes::<S, 4>(s, p, g, (xp, ld), (t0, t), (yp, y_ld, row0)),
            (128, _) => unstructured_passes::<S, 8>(s, p, g, (xp, ld), (t0, t), (yp, y_ld, row0)),
            (_, 16) => unstructured_passes::<S, 1>(s, p, g, (xp, ld), (t0, t), (yp, y_ld, row0)),
            (_, 8) => unstructured_passes::<S, 2>(s, p, g, (xp, ld), (t0, t), (yp, y_ld, row0)),
            _ => unstructured_passes::<S, 4>(s, p, g, (xp, ld), (t0, t), (yp, y_ld, row0)),
        }
    }
}
