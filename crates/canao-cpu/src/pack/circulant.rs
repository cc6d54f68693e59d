/// Block-circulant weights (Ftrans): each b x b tile is the circulant matrix of one vector w,
/// C[r][c] = w[(r - c) mod b]. Circulant matrices are diagonalised by the DFT, so the product
/// runs in the frequency domain, and with tokens as the vector dimension it becomes three sets
/// of small dense products:
/// 1. forward real DFT of every input piece: X_j = D x_j, D = [cos; -sin] ((b/2+1) bins);
/// 2. per frequency bin f, a real (2p x 2q) GEMM with M_f = [[Re W_f, -Im W_f], [Im W_f, Re W_f]]
///    (W_f[i][j] = DFT(w_ij)[f]), mixing all input pieces into all output pieces;
/// 3. inverse real DFT of every output piece.
///
/// Work per token: about 8 (b/2+1) p q for step 2 against 2 p q b^2 dense, so ~b/2 times less.
#[derive(Debug, Clone)]
pub struct CirculantPacked {
    pub n: usize,
    pub k: usize,
    pub b: usize,
    /// Forward DFT, [2 * bins, b] row-major: rows 0..bins are cos, bins..2 bins are -sin.
    pub dft: Vec<f32>,
    /// Inverse DFT, [b, 2 * bins] row-major: columns 0..bins multiply the real parts,
    /// bins..2 bins the imaginary parts (the 1/b and the half-spectrum weights folded in).
    pub idft: Vec<f32>,
    /// Per bin, M_f as [2p, 2q] row-major.
    pub mix: Vec<f32>,
}

impl CirculantPacked {
    /// Takes each tile's defining vector as the mean of its wrapped diagonals over the part of the
    /// tile inside the matrix, which is exactly the IR's circulant projection.
    pub fn new(n: usize, k: usize, b: usize, w: &[f32]) -> Self {
        let (p, q) = (n.div_ceil(b), k.div_ceil(b));
        let bins = b / 2 + 1;
        let angle = |f: usize, c: usize| 2.0 * std::f64::consts::PI * (f * c % b) as f64 / b as f64;
        let mut dft = vec![0.0f32; 2 * bins * b];
        for f in 0..bins {
            for c in 0..b {
                dft[f * b + c] = angle(f, c).cos() as f32;
                dft[(bins + f) * b + c] = -angle(f, c).sin() as f32;
            }
        }
        let mut idft = vec![0.0f32; b * 2 * bins];
        for r in 0..b {
            for f in 0..bins {
                // Bins 0 and b/2 (b even) appear once in the full spectrum, the others twice.
                let twice = if f == 0 || (b.is_multiple_of(2) && f == b / 2) {
                    1.0
                } else {
                    2.0
                };
                idft[r * 2 * bins + f] = (twice * angle(f, r).cos() / b as f64) as f32;
                idft[r * 2 * bins + bins + f] = (-twice * angle(f, r).sin() / b as f64) as f32;
            }
        }
        let mut mix = vec![0.0f32; bins * 4 * p * q];
        for bi in 0..p {
            for bj in 0..q {
                let vector = tile_vector(n, k, b, w, bi, bj);
                for f in 0..bins {
                    let (mut re, mut im) = (0.0f64, 0.0f64);
                    for (c, &v) in vector.iter().enumerate() {
                        re += v * angle(f, c).cos();
                        im -= v * angle(f, c).sin();
                    }
                    let m = &mut mix[f * 4 * p * q..(f + 1) * 4 * p * q];
                    let cols = 2 * q;
                    m[bi * cols + bj] = re as f32;
                    m[bi * cols + q + bj] = -im as f32;
                    m[(p + bi) * cols + bj] = im as f32;
                    m[(p + bi) * cols + q + bj] = re as f32;
                }
            }
        }
        Self {
            n,
            k,
            b,
            dft,
            idft,
            mix,
        }
    }

    pub fn bins(&self) -> usize {
        self.b / 2 + 1
    }

    /// Tiles down and across.
    pub fn grid(&self) -> (usize, usize) {
        (self.n.div_ceil(self.b), self.k.div_ceil(self.b))
    }

    /// Scratch floats the kernel needs for activations of row stride `ld`: the spectra of all
    /// input and output pieces.
    pub fn scratch_len(&self, ld: usize) -> usize {
        let (p, q) = self.grid();
        2 * self.bins() * (p + q) * ld
    }

    /// Stored: one weight spectrum per tile (the mixing matrices hold each value twice, for
    /// the real formulation of the complex product), plus the two DFT matrices.
    pub fn packed_bytes(&self) -> usize {
        4 * (self.mix.len() + self.dft.len() + self.idft.len())
    }
}

/// The defining vector of tile (bi, bj): mean of each wrapped diagonal inside the matrix (0 for
/// a diagonal with no entry inside, which then never meets a non-zero input or a kept output).
fn tile_vector(n: usize, k: usize, b: usize, w: &[f32], bi: usize, bj: usize) -> Vec<f64> {
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
    sum.iter()
        .zip(&count)
        .map(|(s, &n)| if n == 0 { 0.0 } else { s / n as f64 })
        .collect()
}
