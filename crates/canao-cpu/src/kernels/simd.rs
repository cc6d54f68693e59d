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

use crate::pack::{PatternPacked, ROW_BLOCK, UnstructuredPacked};

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

/// One output row of a pattern-sparse weight over tokens t0 .. t0 + V lanes, into `out`.
///
/// # Safety
/// Every column the row's patterns reach is below `x.len() / ld`, the tile lies inside a row,
/// the row's weights are inside `p.vals` and `out` holds V lanes.
#[inline(always)]
unsafe fn pattern_tile<S: Simd, const V: usize>(
    s: S,
    p: &PatternPacked,
    row: usize,
    (x, ld, t0): (&[f32], usize, usize),
    out: *mut f32,
) {
    let lanes = S::F32_LANES;
    let mut acc = [s.splat_f32s(0.0); V];
    // SAFETY (every access below): bounds guaranteed by the caller.
    let mut wp = unsafe { p.vals.as_ptr().add(p.row_vals[row]) };
    let r = p.block[0];
    let xp = x.as_ptr();
    for &(prog, (a, b)) in &p.groups[row / r] {
        let offsets = &p.programs[prog][row % r];
        for &c0 in &p.block_cols[a..b] {
            let base = unsafe { xp.add(c0 as usize * ld + t0) };
            for &o in offsets {
                let rowp = unsafe { base.add(usize::from(o) * ld) };
                let w = s.splat_f32s(unsafe { *wp });
                wp = unsafe { wp.add(1) };
                for (v, a) in acc.iter_mut().enumerate() {
                    *a = s.mul_add_e_f32s(w, unsafe { load::<S>(rowp.add(lanes * v)) }, *a);
                }
            }
        }
    }
    for (v, &a) in acc.iter().enumerate() {
        unsafe { store::<S>(out.add(lanes * v), a) };
    }
}

/// Panics unless the row's patterns stay inside `x` and its weights inside `p.vals`.
pub(crate) fn check_pattern_row(p: &PatternPacked, row: usize, x: &[f32], ld: usize) {
    let rows = x.len() / ld.max(1);
    let r = p.block[0];
    let mut count = 0;
    for &(prog, (a, b)) in &p.groups[row / r] {
        let offsets = &p.programs[prog][row % r];
        let reach = offsets.last().map_or(0, |&o| usize::from(o) + 1);
        assert!(
            p.block_cols[a..b].iter().all(|&c0| c0 as usize + reach <= rows),
            "pattern column outside the activation"
        );
        count += offsets.len() * (b - a);
    }
    assert!(p.row_vals[row] + count <= p.vals.len(), "pattern weights out of bounds");
}

/// Tokens t0 .. t0 + t of one pattern-sparse row into `out[..t]`, for t = 64 or 16.
///
/// Panics unless the row is checked with [`check_pattern_row`] by the caller's contract and
/// the tile lies inside a row of `x` and inside `out`.
#[inline(always)]
pub(crate) fn pattern_row<S: Simd>(
    s: S,
    p: &PatternPacked,
    row: usize,
    x: (&[f32], usize, usize),
    t: usize,
    out: &mut [f32],
) {
    let (_, ld, t0) = x;
    assert!(
        t0 + t <= ld && out.len() >= t && (t == 64 || t == 16),
        "pattern tile out of bounds"
    );
    let out = out.as_mut_ptr();
    // SAFETY: the tile is inside a row and `out` (above); the row's columns and weights were
    // checked by the caller with `check_pattern_row`.
    unsafe {
        match (t, S::F32_LANES) {
            (64, 16) => pattern_tile::<S, 4>(s, p, row, x, out),
            (64, 8) => pattern_tile::<S, 8>(s, p, row, x, out),
            (64, _) => pattern_tile::<S, 16>(s, p, row, x, out),
            (_, 16) => pattern_tile::<S, 1>(s, p, row, x, out),
            (_, 8) => pattern_tile::<S, 2>(s, p, row, x, out),
            _ => pattern_tile::<S, 4>(s, p, row, x, out),
        }
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
