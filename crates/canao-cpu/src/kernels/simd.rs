//! AVX-512 register-tiled microkernels for the sparse formats. The portable loops in `block.rs`,
//! `pattern.rs` and `unstructured.rs` are the fallback (and the definition); these are selected at run time when
//! the CPU has AVX-512F, and are tested against the interpreter like every other path.
#![allow(unsafe_code)]

use crate::pack::{PatternPacked, ROW_BLOCK, UnstructuredPacked};

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

/// True when the AVX-512 kernels can run here (checked once by std, then cached).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// acc[H][16 V] = sum over the columns kk of the `cols` runs of w(c, i) * x[kk, t0 .. t0 + 16 V],
/// where c counts the columns processed so far and w(c, i) = vals[c * wk + i * wi]; written to
/// `out` as H rows of 16 V at row stride `out_ld`. Packed weights use (wk, wi) = (H, 1);
/// attention reads K and V in place with other strides.
///
/// Panics unless every access is in bounds: all columns below `x.len() / ld`, the token tile
/// inside a row, every weight index inside `vals`, every output inside `out`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub fn block_tile<const H: usize, const V: usize>(
    cols: &[(u32, u32)],
    vals: &[f32],
    (wk, wi): (usize, usize),
    x: &[f32],
    ld: usize,
    t0: usize,
    out: &mut [f32],
    out_ld: usize,
) {
    let rows = x.len() / ld;
    let width: usize = cols
        .iter()
        .map(|&(c0, cw)| {
            assert!((c0 + cw) as usize <= rows, "block column outside the activation");
            cw as usize
        })
        .sum();
    assert!(t0 + 16 * V <= ld, "token tile outside the activation row");
    assert!(
        width == 0 || (width - 1) * wk + (H - 1) * wi < vals.len(),
        "weights out of bounds"
    );
    assert!((H - 1) * out_ld + 16 * V <= out.len(), "output tile out of bounds");
    assert!(available(), "AVX-512F kernels called on a CPU without AVX-512F");
    // SAFETY: the CPU supports AVX-512F (asserted above), and the asserts bound every pointer the
    // kernel forms: rows of x below `rows`, columns t0..t0+16V inside `ld`, weight indices
    // c * wk + i * wi for c < width and i < H inside `vals`, and H rows of 16V outputs at stride
    // out_ld inside `out`.
    unsafe { block_tile_avx512::<H, V>(cols, vals, (wk, wi), x, ld, t0, out, out_ld) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn block_tile_avx512<const H: usize, const V: usize>(
    cols: &[(u32, u32)],
    vals: &[f32],
    (wk, wi): (usize, usize),
    x: &[f32],
    ld: usize,
    t0: usize,
    out: &mut [f32],
    out_ld: usize,
) {
    let mut acc: [[__m512; V]; H] = [[_mm512_setzero_ps(); V]; H];
    let xp = x.as_ptr();
    let mut wp = vals.as_ptr();
    for &(c0, cw) in cols {
        for kk in c0 as usize..(c0 + cw) as usize {
            // SAFETY (for the loads below): kk < rows and t0 + 16V <= ld, and the weight indices
            // stay below vals.len(), all checked by the caller.
            let row = unsafe { xp.add(kk * ld + t0) };
            let mut xs: [__m512; V] = [_mm512_setzero_ps(); V];
            for (v, xv) in xs.iter_mut().enumerate() {
                *xv = unsafe { _mm512_loadu_ps(row.add(16 * v)) };
            }
            for (i, acc_row) in acc.iter_mut().enumerate() {
                let w = unsafe { _mm512_set1_ps(*wp.add(i * wi)) };
                for (a, xv) in acc_row.iter_mut().zip(&xs) {
                    *a = _mm512_fmadd_ps(w, *xv, *a);
                }
            }
            // wrapping: after the last column the pointer may pass the end; it is never read then.
            wp = wp.wrapping_add(wk);
        }
    }
    for (i, acc_row) in acc.iter().enumerate() {
        for (v, a) in acc_row.iter().enumerate() {
            // SAFETY: out holds H rows of 16V at stride out_ld, checked by the caller.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(i * out_ld + 16 * v), *a) };
        }
    }
}

/// One output row of a pattern-sparse weight over 16 V tokens, into `out`.
/// Panics unless the tile lies inside a row and every column the row's patterns reach is inside
/// `x` (checked once per group of blocks, not per weight).
#[cfg(target_arch = "x86_64")]
pub fn pattern_row_tile<const V: usize>(
    p: &PatternPacked,
    row: usize,
    x: &[f32],
    ld: usize,
    t0: usize,
    out: &mut [f32],
) {
    assert!(t0 + 16 * V <= ld && out.len() >= 16 * V, "tile out of bounds");
    assert!(available(), "AVX-512F kernels called on a CPU without AVX-512F");
    let rows = x.len() / ld;
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
    // SAFETY: AVX-512F is present; every column read (block start + pattern offset, offsets
    // sorted ascending) is below `rows`, the tile is inside a row, the row's `count` weights are
    // inside `vals`, and `out` holds 16V floats, all asserted above.
    unsafe { pattern_row_avx512::<V>(p, row, x, ld, t0, out) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pattern_row_avx512<const V: usize>(
    p: &PatternPacked,
    row: usize,
    x: &[f32],
    ld: usize,
    t0: usize,
    out: &mut [f32],
) {
    let mut acc: [__m512; V] = [_mm512_setzero_ps(); V];
    let mut wp = unsafe { p.vals.as_ptr().add(p.row_vals[row]) };
    let r = p.block[0];
    let xp = x.as_ptr();
    for &(prog, (a, b)) in &p.groups[row / r] {
        let offsets = &p.programs[prog][row % r];
        for &c0 in &p.block_cols[a..b] {
            let base = unsafe { xp.add(c0 as usize * ld + t0) };
            for &o in offsets {
                let rowp = unsafe { base.add(usize::from(o) * ld) };
                let w = unsafe { _mm512_set1_ps(*wp) };
                wp = unsafe { wp.add(1) };
                for (v, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_fmadd_ps(w, unsafe { _mm512_loadu_ps(rowp.add(16 * v)) }, *a);
                }
            }
        }
    }
    for (v, a) in acc.iter().enumerate() {
        unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(16 * v), *a) };
    }
}

/// Adds one group of an unstructured weight (the segments of row block `block` in chunk `chunk`)
/// over tokens t0 .. t0 + 16 V into `y`, which holds output rows from `row0` at stride `y_ld`:
/// each segment's row tile gains the sum of w * x[col, t0 ..] over its terms.
/// Panics unless x holds the weight's k rows of stride `ld`, the tile lies inside a row of x and
/// of y, and `y` holds the block's rows (columns are below k and segments' rows inside their
/// block by construction of the packed weight).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub fn unstructured_group<const V: usize>(
    p: &UnstructuredPacked,
    chunk: usize,
    block: usize,
    x: &[f32],
    ld: usize,
    t0: usize,
    (y, y_ld, row0): (&mut [f32], usize, usize),
) {
    assert!(p.k() * ld <= x.len(), "activation shorter than the weight's columns");
    assert!(t0 + 16 * V <= ld.min(y_ld), "tile out of bounds");
    assert!(chunk < p.chunks() && block < p.row_blocks(), "no such group");
    let rows = block * ROW_BLOCK..((block + 1) * ROW_BLOCK).min(p.n());
    assert!(
        row0 <= rows.start && rows.end <= row0 + y.len() / y_ld,
        "block's rows outside y"
    );
    assert!(available(), "AVX-512F kernels called on a CPU without AVX-512F");
    // SAFETY: AVX-512F is present; every packed column is below k, so each row read is inside x;
    // every segment's row is in the block, whose rows are inside y; the tile is inside a row of
    // x and of y: all asserted above or guaranteed by packing.
    unsafe { unstructured_avx512::<V>(p, chunk, block, x.as_ptr(), ld, t0, (y, y_ld, row0)) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn unstructured_avx512<const V: usize>(
    p: &UnstructuredPacked,
    chunk: usize,
    block: usize,
    xp: *const f32,
    ld: usize,
    t0: usize,
    (y, y_ld, row0): (&mut [f32], usize, usize),
) {
    for s in p.group(chunk, block) {
        let (cols, vals) = p.terms(s);
        let op = unsafe { y.as_mut_ptr().add((s.row as usize - row0) * y_ld + t0) };
        // Two accumulator sets, even and odd terms: with only V chains the FMA latency, not the
        // loads, would bound a short token tile.
        let mut acc: [[__m512; V]; 2] = [[_mm512_setzero_ps(); V]; 2];
        for (v, a) in acc[0].iter_mut().enumerate() {
            *a = unsafe { _mm512_loadu_ps(op.add(16 * v)) };
        }
        for (c, w) in cols.chunks_exact(2).zip(vals.chunks_exact(2)) {
            let r0 = unsafe { xp.add(c[0] as usize * ld + t0) };
            let r1 = unsafe { xp.add(c[1] as usize * ld + t0) };
            let (w0, w1) = (_mm512_set1_ps(w[0]), _mm512_set1_ps(w[1]));
            let [even, odd] = &mut acc;
            for (v, (a0, a1)) in even.iter_mut().zip(odd.iter_mut()).enumerate() {
                *a0 = _mm512_fmadd_ps(w0, unsafe { _mm512_loadu_ps(r0.add(16 * v)) }, *a0);
                *a1 = _mm512_fmadd_ps(w1, unsafe { _mm512_loadu_ps(r1.add(16 * v)) }, *a1);
            }
        }
        if let (Some(&c), Some(&w)) = (cols.last(), vals.last())
            && cols.len() % 2 == 1
        {
            let r = unsafe { xp.add(c as usize * ld + t0) };
            let w = _mm512_set1_ps(w);
            for (v, a) in acc[0].iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(w, unsafe { _mm512_loadu_ps(r.add(16 * v)) }, *a);
            }
        }
        for (v, (a0, a1)) in acc[0].iter().zip(&acc[1]).enumerate() {
            unsafe { _mm512_storeu_ps(op.add(16 * v), _mm512_add_ps(*a0, *a1)) };
        }
    }
}
