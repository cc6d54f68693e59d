// block-circulant weight, 8x8 tiles: step 3 of 3, the inverse real DFT of each output piece and
// the epilogue (idft is [B, 2F]: real-part columns, then imaginary-part columns)
// T = 50 tokens, K = 77 inputs in Q = 10 pieces, N = 33 outputs in P = 5 pieces,
// F = 5 frequency bins; spectra are (re, im) pairs laid out [F][T][pieces].
const T: u32 = 50u;
const K: u32 = 77u;
const N: u32 = 33u;
const B: u32 = 8u;
const P: u32 = 5u;
const Q: u32 = 10u;
const F: u32 = 5u;

@group(0) @binding(0) var<storage, read> spectra: array<f32>;
@group(0) @binding(1) var<storage, read> idft: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn erf(x: f32) -> f32 {
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let p = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
    return sign(x) * (1.0 - p * exp(-a * a));
}

// The exact (erf) GELU that BERT uses.
fn gelu(x: f32) -> f32 {
    return 0.5 * x * (1.0 + erf(x * 0.70710678118654752));
}

fn epilogue(v: f32, t: u32, n: u32) -> f32 {
    var r = v;
    r += bias[n];
    r = gelu(r);
    r += residual[t * N + n];
    return r;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= T * N) { return; }
    // Neighbouring invocations take neighbouring outputs of one token.
    let t = i / N;
    let n = i % N;
    let piece = n / B;
    let r = n % B;
    var acc = 0.0;
    for (var f = 0u; f < F; f++) {
        let a = 2u * ((f * T + t) * P + piece);
        acc += spectra[a] * idft[r * 2u * F + f] + spectra[a + 1u] * idft[r * 2u * F + F + f];
    }
    y[i] = epilogue(acc, t, n);
}
