//! How close a reconstruction is to the private image, on pixels in [0, 1]: mean squared error,
//! PSNR (peak 1) and SSIM (Wang et al. 2004: an 11x11 Gaussian window of sigma 1.5, K1 = 0.01,
//! K2 = 0.03, averaged over the window positions that fit inside the image, per channel).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub mse: f64,
    pub psnr: f64,
    pub ssim: f64,
}

/// Compares `b` with the reference `a`, both [channels, height, width] in [0, 1].
pub fn quality(a: &[f64], b: &[f64], [c, h, w]: [usize; 3]) -> Quality {
    let mse = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64;
    let psnr = -10.0 * mse.max(1e-12).log10();
    let plane = h * w;
    let ssim = (0..c)
        .map(|ch| ssim_plane(&a[ch * plane..][..plane], &b[ch * plane..][..plane], h, w))
        .sum::<f64>()
        / c as f64;
    Quality { mse, psnr, ssim }
}

const WINDOW: usize = 11;

fn gaussian_window() -> [f64; WINDOW] {
    let mut k = [0.0; WINDOW];
    for (i, v) in k.iter_mut().enumerate() {
        let d = i as f64 - (WINDOW / 2) as f64;
        *v = (-d * d / (2.0 * 1.5 * 1.5)).exp();
    }
    let s: f64 = k.iter().sum();
    k.map(|v| v / s)
}

fn ssim_plane(a: &[f64], b: &[f64], h: usize, w: usize) -> f64 {
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    if h < WINDOW || w < WINDOW {
        // Too small for the window: one uniform window over the whole plane.
        let even = 1.0 / (h * w) as f64;
        return ssim_of(moments(a, b, w, (0, 0), (h, w), |_, _| even), c1, c2);
    }
    let k = gaussian_window();
    let (rows, cols) = (h - WINDOW + 1, w - WINDOW + 1);
    let mut sum = 0.0;
    for y in 0..rows {
        for x in 0..cols {
            sum += ssim_of(moments(a, b, w, (y, x), (WINDOW, WINDOW), |i, j| k[i] * k[j]), c1, c2);
        }
    }
    sum / (rows * cols) as f64
}

/// Weighted means, second moments and cross moment of `a` and `b` (rows of `stride`) over the
/// window of `size` at `at`.
fn moments(
    a: &[f64],
    b: &[f64],
    stride: usize,
    (y0, x0): (usize, usize),
    (wh, ww): (usize, usize),
    weight: impl Fn(usize, usize) -> f64,
) -> [f64; 5] {
    let mut m = [0.0; 5];
    for i in 0..wh {
        for j in 0..ww {
            let (k, at) = (weight(i, j), (y0 + i) * stride + x0 + j);
            let (x, y) = (a[at], b[at]);
            m[0] += k * x;
            m[1] += k * y;
            m[2] += k * x * x;
            m[3] += k * y * y;
            m[4] += k * x * y;
        }
    }
    m
}

fn ssim_of([mx, my, xx, yy, xy]: [f64; 5], c1: f64, c2: f64) -> f64 {
    let (vx, vy, cov) = (xx - mx * mx, yy - my * my, xy - mx * my);
    ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
}
