//! Block-circulant weight x activation by FFT: per token, the input is cut into b-long pieces,
//! each transformed once; each output piece is the inverse transform of the sum over input pieces
//! of (precomputed weight spectrum) x (input spectrum). O((n k / b) log b) per token.

use rayon::prelude::*;
use realfft::num_complex::Complex32;

use crate::kernels::Fm;
use crate::kernels::epilogue::Epilogue;
use crate::pack::CirculantPacked;

/// Output pieces for tokens `t0..t1`, token-major: [token][n].
fn tokens(p: &CirculantPacked, x: &[f32], xf: Fm, t0: usize, t1: usize) -> Vec<f32> {
    let (b, bins) = (p.b, p.bins());
    let (q, rows) = (p.k.div_ceil(b), p.n.div_ceil(b));
    let mut out = vec![0.0f32; (t1 - t0) * p.n];
    let mut piece = vec![0.0f32; b];
    let mut xs = vec![Complex32::default(); q * bins];
    let mut acc = vec![Complex32::default(); bins];
    let mut fs = p.forward.make_scratch_vec();
    let mut is = p.inverse.make_scratch_vec();
    for t in t0..t1 {
        for j in 0..q {
            for (c, v) in piece.iter_mut().enumerate() {
                let kk = j * b + c;
                *v = if kk < p.k { x[kk * xf.ld + t] } else { 0.0 };
            }
            p.forward
                .process_with_scratch(&mut piece, &mut xs[j * bins..(j + 1) * bins], &mut fs)
                .expect("plan sizes");
        }
        for i in 0..rows {
            acc.fill(Complex32::default());
            for j in 0..q {
                let w = &p.spectra[(i * q + j) * bins..(i * q + j + 1) * bins];
                for ((a, w), xv) in acc.iter_mut().zip(w).zip(&xs[j * bins..(j + 1) * bins]) {
                    *a += w * xv;
                }
            }
            // A real signal's spectrum has real DC and Nyquist bins; rounding can leave tiny
            // imaginary parts there, which the inverse transform rejects.
            acc[0].im = 0.0;
            if b % 2 == 0 {
                acc[bins - 1].im = 0.0;
            }
            p.inverse
                .process_with_scratch(&mut acc, &mut piece, &mut is)
                .expect("plan sizes");
            let scale = 1.0 / b as f32;
            for (r, v) in piece.iter().enumerate().take(b.min(p.n - i * b)) {
                out[(t - t0) * p.n + i * b + r] = v * scale;
            }
        }
    }
    out
}

pub fn circulant(p: &CirculantPacked, x: &[f32], xf: Fm, y: &mut [f32], ld: usize, ep: &Epilogue<'_>, threads: usize) {
    let chunk = xf.cols.div_ceil(threads.max(1)).max(1);
    let starts: Vec<usize> = (0..xf.cols).step_by(chunk).collect();
    let parts: Vec<(usize, Vec<f32>)> = if threads <= 1 {
        starts
            .iter()
            .map(|&t0| (t0, tokens(p, x, xf, t0, (t0 + chunk).min(xf.cols))))
            .collect()
    } else {
        starts
            .par_iter()
            .map(|&t0| (t0, tokens(p, x, xf, t0, (t0 + chunk).min(xf.cols))))
            .collect()
    };
    for (t0, part) in parts {
        for (dt, col) in part.chunks(p.n).enumerate() {
            for (row, &v) in col.iter().enumerate() {
                y[row * ld + t0 + dt] = v;
            }
        }
    }
    for row in 0..p.n {
        ep.apply_in_place(row, 0, &mut y[row * ld..row * ld + xf.cols]);
    }
}
