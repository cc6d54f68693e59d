//! Block-circulant weight x activation in the frequency domain (Ftrans, ALGORITHMS.md §6), with
//! the CPU backend's formulation. Each B x B tile (i, j) of the [N, K] weight (zero-padded to
//! P x Q tiles) is the circulant matrix of one vector w_ij, C[r][c] = w_ij[(r - c) mod B], so
//! piece i of y is sum over j of IDFT(DFT(w_ij) o DFT(x_j)). Three kernels:
//! 1. [`forward`]: the real DFT of every B-wide piece of every token's x (F = B/2 + 1 bins);
//! 2. [`mix`]: per bin f, a complex product of the [T, Q] input spectra with the [P, Q] weight
//!    spectra, tiled through workgroup memory like the dense kernel;
//! 3. [`inverse`]: the inverse real DFT of every output piece, then the layer's epilogue.
//!
//! Spectra are (re, im) pairs laid out [F][T][pieces], so each bin's product reads contiguous
//! rows. The weight spectra and both DFT matrices are computed on the host ([`CirculantLayout`]).
//! Work per token is about 8 F P Q in the mixing against 2 N K dense, roughly B/2 times less.

use std::f64::consts::PI;

use canao_ir::{KernelClass, Sparsity, WeightFormat};

use crate::emit::epilogue::Epilogue;
use crate::emit::{Binding, FLAT_INDEX, FLAT_MAIN, Kernel, LinearShape, declare, grid_1d, per_output_main, work};

/// Rows and columns of the spectrum tile a mixing workgroup computes, and the depth of a slice.
pub const TILE: u32 = 16;

/// A block-circulant [N, K] weight as the three kernels read it.
#[derive(Debug, Clone, PartialEq)]
pub struct CirculantLayout {
    pub shape: [usize; 2],
    pub block: usize,
    /// Forward DFT, [2F, B] row-major: rows 0..F are cos, F..2F are -sin.
    pub dft: Vec<f32>,
    /// Inverse DFT, [B, 2F] row-major: columns 0..F multiply the real parts, F..2F the imaginary
    /// parts, with the 1/B and the weights of the half spectrum folded in.
    pub idft: Vec<f32>,
    /// DFT of each tile's defining vector, (re, im) pairs laid out [F][P][Q].
    pub spectra: Vec<f32>,
}

impl CirculantLayout {
    /// From the dense row-major weight `w`, projected first: its tiles need not be circulant
    /// yet, the effective matrix (the IR's projection, which the interpreter runs) is.
    pub fn new(shape: [usize; 2], block: usize, w: &[f32]) -> Self {
        let [n, k] = shape;
        let b = block;
        let mut projected = w.to_vec();
        Sparsity::Circulant { block }.project(&shape, &mut projected);
        let (f_bins, p, q) = (bins(b), n.div_ceil(b), k.div_ceil(b));
        // cos and sin of 2 pi m / B: every angle below is a multiple of that step, mod B.
        let turn: Vec<(f64, f64)> = (0..b).map(|m| (2.0 * PI * m as f64 / b as f64).sin_cos()).collect();
        let mut dft = vec![0.0f32; 2 * f_bins * b];
        let mut idft = vec![0.0f32; b * 2 * f_bins];
        for f in 0..f_bins {
            // Bins 0 and B/2 (B even) appear once in the full spectrum, the others twice.
            let weight = (if f == 0 || 2 * f == b { 1.0 } else { 2.0 }) / b as f64;
            for c in 0..b {
                let (sin, cos) = turn[f * c % b];
                dft[f * b + c] = cos as f32;
                dft[(f_bins + f) * b + c] = -sin as f32;
                idft[c * 2 * f_bins + f] = (weight * cos) as f32;
                idft[c * 2 * f_bins + f_bins + f] = (-weight * sin) as f32;
            }
        }
        let mut spectra = vec![0.0f32; 2 * f_bins * p * q];
        for i in 0..p {
            for j in 0..q {
                // The defining vector: entry d lies on wrapped diagonal d, constant after the
                // projection. A diagonal with no entry inside a clipped tile stays 0: it never
                // meets an input inside the matrix or an output that is kept.
                let mut vector = vec![0.0f64; b];
                for r in 0..b.min(n - i * b) {
                    for c in 0..b.min(k - j * b) {
                        vector[(r + b - c) % b] = f64::from(projected[(i * b + r) * k + j * b + c]);
                    }
                }
                for f in 0..f_bins {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (d, v) in vector.iter().enumerate() {
                        let (sin, cos) = turn[f * d % b];
                        re += v * cos;
                        im -= v * sin;
                    }
                    let at = 2 * ((f * p + i) * q + j);
                    spectra[at] = re as f32;
                    spectra[at + 1] = im as f32;
                }
            }
        }
        Self {
            shape,
            block,
            dft,
            idft,
            spectra,
        }
    }

    /// Floats of the input spectra of `tokens` tokens (what [`forward`] writes).
    pub fn input_spectra_len(&self, tokens: usize) -> usize {
        2 * bins(self.block) * tokens * self.shape[1].div_ceil(self.block)
    }

    /// Floats of the output spectra of `tokens` tokens (what [`mix`] writes).
    pub fn output_spectra_len(&self, tokens: usize) -> usize {
        2 * bins(self.block) * tokens * self.shape[0].div_ceil(self.block)
    }
}

/// All three kernels of a circulant layer are its one linear step to the latency model.
const CIRCULANT: KernelClass = KernelClass::Linear(WeightFormat::Circulant);

/// Frequency bins of the real DFT of length `b`: the others are their conjugates.
fn bins(b: usize) -> usize {
    b / 2 + 1
}

/// The comment and constants every circulant kernel starts with, then its bindings.
fn header(what: &str, shape: LinearShape, b: usize, bindings: &[Binding]) -> String {
    let (p, q) = (shape.output.div_ceil(b), shape.input.div_ceil(b));
    format!(
        "// block-circulant weight, {b}x{b} tiles: {what}\n\
         // T = {t} tokens, K = {k} inputs in Q = {q} pieces, N = {n} outputs in P = {p} pieces,\n\
         // F = {f} frequency bins; spectra are (re, im) pairs laid out [F][T][pieces].\n\
         const T: u32 = {t}u;\nconst K: u32 = {k}u;\nconst N: u32 = {n}u;\nconst B: u32 = {b}u;\n\
         const P: u32 = {p}u;\nconst Q: u32 = {q}u;\nconst F: u32 = {f}u;\n\n{}\n",
        declare(bindings),
        t = shape.tokens,
        k = shape.input,
        n = shape.output,
        f = bins(b),
    )
}

/// Step 1: y[f, t, j] = sum over c of x[t, j B + c] * exp(-2 pi i f c / B), one invocation per
/// spectrum entry. The last piece is clipped to the inputs that exist (the padding is zero).
pub fn forward(shape: LinearShape, b: usize) -> Kernel {
    let bindings = vec![Binding::read("x"), Binding::read("dft"), Binding::output()];
    let mut source = header(
        "step 1 of 3, the forward real DFT of each input piece\n\
         // (dft is [2F, B]: cos rows, then -sin rows)",
        shape,
        b,
        &bindings,
    );
    source.push_str(&format!(
        "{FLAT_MAIN}
    {FLAT_INDEX}
    if (i >= F * T * Q) {{ return; }}
    let j = i % Q;
    let t = (i / Q) % T;
    let f = i / (Q * T);
    let k0 = j * B;
    let width = min(B, K - k0);
    var re = 0.0;
    var im = 0.0;
    for (var c = 0u; c < width; c++) {{
        let v = x[t * K + k0 + c];
        re += v * dft[f * B + c];
        im += v * dft[(F + f) * B + c];
    }}
    y[2u * i] = re;
    y[2u * i + 1u] = im;
}}
"
    ));
    Kernel {
        name: format!("linear_circulant_{b}_dft"),
        source,
        bindings,
        workgroups: grid_1d(bins(b) * shape.tokens * shape.input.div_ceil(b)),
        tables: None,
        class: CIRCULANT,
        // A real input times a complex twiddle per bin: two multiply-adds.
        work: work(2 * bins(b) * shape.tokens * shape.input, 0),
    }
}

/// Step 2: y[f, t, i] = sum over j of w[f, i, j] * x[f, t, j] (complex), a [T, Q] x [P, Q]^T
/// product per bin (workgroup z), staged through workgroup memory as the dense kernel stages
/// its real one, so each spectrum value loaded is used TILE times.
pub fn mix(shape: LinearShape, b: usize) -> Kernel {
    let bindings = vec![Binding::read("x"), Binding::read("w"), Binding::output()];
    let mut source = header(
        "step 2 of 3, per frequency bin the complex product of the\n\
         // input spectra x with the weight spectra w ([F][P][Q], the DFT of each tile's vector)",
        shape,
        b,
        &bindings,
    );
    source.push_str(&format!(
        "const TILE: u32 = {TILE}u;\n\
\n\
var<workgroup> xs: array<array<vec2<f32>, {TILE}>, {TILE}>; // [token][input piece]\n\
var<workgroup> ws: array<array<vec2<f32>, {TILE}>, {TILE}>; // [output piece][input piece]\n\
\n\
@compute @workgroup_size({TILE}, {TILE})\n\
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {{
    let f = wg.z;
    let i = wg.x * TILE + l.x;
    let t = wg.y * TILE + l.y;
    // The w row this invocation stages (the tile's output pieces run along l.y while loading).
    let wi = wg.x * TILE + l.y;
    var acc = vec2<f32>(0.0, 0.0);
    for (var j0 = 0u; j0 < Q; j0 += TILE) {{
        let j = j0 + l.x;
        var xv = vec2<f32>(0.0, 0.0);
        if (t < T && j < Q) {{
            let a = 2u * ((f * T + t) * Q + j);
            xv = vec2<f32>(x[a], x[a + 1u]);
        }}
        xs[l.y][l.x] = xv;
        var wv = vec2<f32>(0.0, 0.0);
        if (wi < P && j < Q) {{
            let a = 2u * ((f * P + wi) * Q + j);
            wv = vec2<f32>(w[a], w[a + 1u]);
        }}
        ws[l.y][l.x] = wv;
        workgroupBarrier();
        for (var jj = 0u; jj < TILE; jj++) {{
            let u = xs[l.y][jj];
            let v = ws[l.x][jj];
            acc += vec2<f32>(u.x * v.x - u.y * v.y, u.x * v.y + u.y * v.x);
        }}
        workgroupBarrier();
    }}
    if (t < T && i < P) {{
        let o = 2u * ((f * T + t) * P + i);
        y[o] = acc.x;
        y[o + 1u] = acc.y;
    }}
}}
"
    ));
    let p = shape.output.div_ceil(b);
    Kernel {
        name: format!("linear_circulant_{b}_mix"),
        source,
        bindings,
        // Sizes fit u32: lowering refuses larger values.
        workgroups: [
            (p as u32).div_ceil(TILE),
            (shape.tokens as u32).div_ceil(TILE),
            bins(b) as u32,
        ],
        tables: None,
        class: CIRCULANT,
        // A complex multiply-add is four real ones.
        work: work(4 * bins(b) * shape.tokens * p * shape.input.div_ceil(b), 0),
    }
}

/// Step 3: y[t, n] = epilogue(inverse real DFT of output piece n / B at position n % B), one
/// invocation per output; only the outputs inside the matrix are computed.
pub fn inverse(shape: LinearShape, b: usize, ep: &Epilogue) -> Kernel {
    let mut bindings = vec![Binding::read("spectra"), Binding::read("idft")];
    bindings.extend(ep.bindings());
    bindings.push(Binding::output());
    let mut source = header(
        "step 3 of 3, the inverse real DFT of each output piece and\n\
         // the epilogue (idft is [B, 2F]: real-part columns, then imaginary-part columns)",
        shape,
        b,
        &bindings,
    );
    source.push_str(&ep.wgsl());
    source.push_str(&per_output_main());
    source.push_str(
        "    let piece = n / B;
    let r = n % B;
    var acc = 0.0;
    for (var f = 0u; f < F; f++) {
        let a = 2u * ((f * T + t) * P + piece);
        acc += spectra[a] * idft[r * 2u * F + f] + spectra[a + 1u] * idft[r * 2u * F + F + f];
    }
    y[i] = epilogue(acc, t, n);
}
",
    );
    shape.per_output(
        WeightFormat::Circulant,
        shape.macs(2 * bins(b) * shape.output),
        ep,
        (format!("linear_circulant_{b}_idft{}", ep.suffix()), source),
        bindings,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The host packing alone, in f64 against the projected matrix: forward DFT, mixing and
    /// inverse DFT as the kernels compute them reproduce the dense product, for clipped tiles,
    /// odd and even B and B = 1.
    #[test]
    fn layout_reproduces_the_projected_product() {
        for (n, k, b) in [(7, 5, 3), (9, 13, 4), (4, 4, 1), (5, 11, 8), (3, 2, 5)] {
            let w: Vec<f32> = (0..n * k).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
            let x: Vec<f64> = (0..k).map(|i| ((i * 13 % 11) as f64 - 5.0) / 3.0).collect();
            let l = CirculantLayout::new([n, k], b, &w);
            let mut projected = w.clone();
            Sparsity::Circulant { block: b }.project(&[n, k], &mut projected);
            let (f_bins, p, q) = (bins(b), n.div_ceil(b), k.div_ceil(b));
            let d = |i: usize| f64::from(l.dft[i]);
            let mut xs = vec![(0.0, 0.0); f_bins * q];
            for f in 0..f_bins {
                for j in 0..q {
                    for c in 0..b.min(k - j * b) {
                        xs[f * q + j].0 += x[j * b + c] * d(f * b + c);
                        xs[f * q + j].1 += x[j * b + c] * d((f_bins + f) * b + c);
                    }
                }
            }
            for row in 0..n {
                let (i, r) = (row / b, row % b);
                let mut got = 0.0;
                for f in 0..f_bins {
                    let (mut re, mut im) = (0.0, 0.0);
                    for j in 0..q {
                        let at = 2 * ((f * p + i) * q + j);
                        let (wr, wi) = (f64::from(l.spectra[at]), f64::from(l.spectra[at + 1]));
                        let (xr, xi) = xs[f * q + j];
                        re += wr * xr - wi * xi;
                        im += wr * xi + wi * xr;
                    }
                    got += re * f64::from(l.idft[r * 2 * f_bins + f])
                        + im * f64::from(l.idft[r * 2 * f_bins + f_bins + f]);
                }
                let want: f64 = (0..k).map(|c| f64::from(projected[row * k + c]) * x[c]).sum();
                assert!((got - want).abs() < 1e-4, "{n}x{k}, b {b}, row {row}: {got} vs {want}");
            }
        }
    }
}
