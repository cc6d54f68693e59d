//! Block-circulant weight x activation in the frequency domain, vectorised over tokens: every
//! step is a small dense product on the GEMM (see `pack::CirculantPacked` for the algebra).
//! Spectra live in `scratch`: input spectra as rows [bin][re | im][piece], so each bin's
//! mixing product reads one contiguous [2q, tokens] block, and output spectra likewise.

use crate::isa::Loops;
use crate::kernels::dense::{View, gemm_strided};
use crate::kernels::epilogue::Epilogue;
use crate::kernels::{Cx, Fm};
use crate::pack::CirculantPacked;

#[allow(clippy::too_many_arguments)]
pub fn circulant(
    p: &CirculantPacked,
    x: &[f32],
    xf: Fm,
    y: &mut [f32],
    ld: usize,
    ep: &Epilogue<'_>,
    scratch: &mut [f32],
    cx: Cx,
) {
    let threads = cx.threads();
    let (b, bins, t) = (p.b, p.bins(), xf.cols);
    let (pr, pc) = p.grid();
    let (xs, rest) = scratch.split_at_mut(2 * bins * pc * xf.ld);
    let ys = &mut rest[..2 * bins * pr * xf.ld];
    let row = View { rs: xf.ld, cs: 1 };
    // 1. Forward DFT of each input piece j: the cos rows and the -sin rows land `2q` spectrum
    //    rows apart, at [bin][part][j].
    for j in 0..pc {
        let width = b.min(p.k - j * b);
        for part in 0..2 {
            let dst = &mut xs[(part * pc + j) * xf.ld..];
            let dft = &p.dft[part * bins * b..];
            let dv = View {
                rs: 2 * pc * xf.ld,
                cs: 1,
            };
            gemm_strided(
                (bins, t, width),
                dst,
                dv,
                false,
                dft,
                View { rs: b, cs: 1 },
                &x[j * b * xf.ld..],
                row,
                1.0,
                threads,
            );
        }
    }
    // 2. Per bin, mix all input pieces into all output pieces.
    for f in 0..bins {
        let mix = &p.mix[f * 4 * pr * pc..(f + 1) * 4 * pr * pc];
        let src = &xs[f * 2 * pc * xf.ld..];
        let dst = &mut ys[f * 2 * pr * xf.ld..];
        gemm_strided(
            (2 * pr, t, 2 * pc),
            dst,
            row,
            false,
            mix,
            View { rs: 2 * pc, cs: 1 },
            src,
            row,
            1.0,
            threads,
        );
    }
    // 3. Inverse DFT of each output piece i, real parts then imaginary parts accumulated.
    for i in 0..pr {
        let rows = b.min(p.n - i * b);
        let dst = &mut y[i * b * ld..];
        let yv = View { rs: ld, cs: 1 };
        for part in 0..2 {
            let src = &ys[(part * pr + i) * xf.ld..];
            let sv = View {
                rs: 2 * pr * xf.ld,
                cs: 1,
            };
            let idft = &p.idft[part * bins..];
            gemm_strided(
                (rows, t, bins),
                dst,
                yv,
                part == 1,
                idft,
                View { rs: 2 * bins, cs: 1 },
                src,
                sv,
                1.0,
                threads,
            );
        }
    }
    cx.isa().run(Loops(|| {
        for r in 0..p.n {
            ep.apply_in_place(r, 0, &mut y[r * ld..r * ld + t]);
        }
    }));
}
