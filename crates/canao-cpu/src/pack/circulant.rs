use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Block-circulant weights (Ftrans): each b x b tile is the circulant matrix of one vector w,
/// C[r][c] = w[(r - c) mod b], stored as the spectrum FFT(w) (b/2 + 1 bins), so a tile times a
/// vector is one pointwise product in the frequency domain.
#[derive(Clone)]
pub struct CirculantPacked {
    pub n: usize,
    pub k: usize,
    pub b: usize,
    /// Spectra, [block row][block col][bin].
    pub spectra: Vec<Complex32>,
    pub forward: Arc<dyn RealToComplex<f32>>,
    pub inverse: Arc<dyn ComplexToReal<f32>>,
}

impl std::fmt::Debug for CirculantPacked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CirculantPacked {{ n: {}, k: {}, b: {} }}", self.n, self.k, self.b)
    }
}

impl CirculantPacked {
    /// Takes each tile's defining vector as the mean of its wrapped diagonals over the part of the
    /// tile inside the matrix, which is exactly the IR's circulant projection.
    pub fn new(n: usize, k: usize, b: usize, w: &[f32]) -> Self {
        let (p, q) = (n.div_ceil(b), k.div_ceil(b));
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(b);
        let inverse = planner.plan_fft_inverse(b);
        let bins = b / 2 + 1;
        let mut spectra = Vec::with_capacity(p * q * bins);
        let mut scratch = forward.make_scratch_vec();
        for bi in 0..p {
            for bj in 0..q {
                let (rows, cols) = (b.min(n - bi * b), b.min(k - bj * b));
                let mut sum = vec![0.0f64; b];
                let mut count = vec![0usize; b];
                for r in 0..rows {
                    for c in 0..cols {
                        let d = (r + b - c) % b;
                        sum[d] += f64::from(w[(bi * b + r) * k + bj * b + c]);
                        count[d] += 1;
                    }
                }
                let mut vec: Vec<f32> = sum
                    .iter()
                    .zip(&count)
                    .map(|(s, &n)| if n == 0 { 0.0 } else { (s / n as f64) as f32 })
                    .collect();
                let mut spec = forward.make_output_vec();
                forward
                    .process_with_scratch(&mut vec, &mut spec, &mut scratch)
                    .expect("buffer sizes come from the plan");
                spectra.extend(spec);
            }
        }
        Self {
            n,
            k,
            b,
            spectra,
            forward,
            inverse,
        }
    }

    pub fn bins(&self) -> usize {
        self.b / 2 + 1
    }

    pub fn packed_bytes(&self) -> usize {
        8 * self.spectra.len()
    }
}
