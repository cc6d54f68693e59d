//! Dense weight x activation through the `gemm` crate (runtime-dispatched AVX2/AVX-512 GEMM).
#![allow(unsafe_code)]

use gemm::Parallelism;

use crate::isa::Loops;
use crate::kernels::epilogue::Epilogue;
use crate::kernels::{Cx, Fm};

/// Strided matrix views for [`gemm_strided`]: element (i, j) is at `i * rs + j * cs`.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub rs: usize,
    pub cs: usize,
}

/// dst[m, n] (+)= alpha * lhs[m, k] * rhs[k, n], all f32, with explicit strides.
///
/// Panics if a view would reach past its slice, so the unsafe call below only ever sees
/// in-bounds pointers.
#[allow(clippy::too_many_arguments)]
pub fn gemm_strided(
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dv: View,
    accumulate: bool,
    lhs: &[f32],
    lv: View,
    rhs: &[f32],
    rv: View,
    alpha: f32,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |v: View, r: usize, c: usize| (r.max(1) - 1) * v.rs + (c.max(1) - 1) * v.cs;
    assert!(last(dv, m, n) < dst.len(), "gemm dst view out of bounds");
    if k > 0 {
        assert!(
            last(lv, m, k) < lhs.len() && last(rv, k, n) < rhs.len(),
            "gemm operand view out of bounds"
        );
    }
    let par = if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: every index the GEMM touches, (i * rs + j * cs) for i < rows and j < cols of each
    // operand, is at most the `last` offset asserted above, so all accesses stay inside the three
    // slices; dst is borrowed mutably and does not alias lhs or rhs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dv.cs as isize,
            dv.rs as isize,
            accumulate,
            lhs.as_ptr(),
            lv.cs as isize,
            lv.rs as isize,
            rhs.as_ptr(),
            rv.cs as isize,
            rv.rs as isize,
            1.0,
            alpha,
            false,
            false,
            false,
            par,
        );
    }
}

/// Y = W X with W row-major [n, k], then the epilogue. An identity-activation epilogue is folded
/// into the GEMM by preloading Y with bias and residual and accumulating.
#[allow(clippy::too_many_arguments)]
pub fn dense(w: &[f32], n: usize, k: usize, x: &[f32], xf: Fm, y: &mut [f32], ld: usize, ep: &Epilogue<'_>, cx: Cx) {
    let cols = xf.cols;
    let wv = View { rs: k, cs: 1 };
    let xv = View { rs: xf.ld, cs: 1 };
    let yv = View { rs: ld, cs: 1 };
    if ep.act == canao_ir::Activation::Identity {
        for row in 0..n {
            let out = &mut y[row * ld..row * ld + cols];
            let b = ep.bias.map_or(0.0, |b| b[row]);
            match ep.residual {
                Some(r) => {
                    for (o, &r) in out.iter_mut().zip(&r[row * ep.res_ld..row * ep.res_ld + cols]) {
                        *o = r + b;
                    }
                }
                None => out.fill(b),
            }
        }
        gemm_strided((n, cols, k), y, yv, true, w, wv, x, xv, 1.0, cx.threads());
    } else {
        gemm_strided((n, cols, k), y, yv, false, w, wv, x, xv, 1.0, cx.threads());
        cx.isa().run(Loops(|| {
            for row in 0..n {
                ep.apply_in_place(row, 0, &mut y[row * ld..row * ld + cols]);
            }
        }));
    }
}
