// block-circulant weight, 8x8 tiles: step 1 of 3, the forward real DFT of each input piece
// (dft is [2F, B]: cos rows, then -sin rows)
// T = 50 tokens, K = 77 inputs in Q = 10 pieces, N = 33 outputs in P = 5 pieces,
// F = 5 frequency bins; spectra are (re, im) pairs laid out [F][T][pieces].
const T: u32 = 50u;
const K: u32 = 77u;
const N: u32 = 33u;
const B: u32 = 8u;
const P: u32 = 5u;
const Q: u32 = 10u;
const F: u32 = 5u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dft: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= F * T * Q) { return; }
    let j = i % Q;
    let t = (i / Q) % T;
    let f = i / (Q * T);
    let k0 = j * B;
    let width = min(B, K - k0);
    var re = 0.0;
    var im = 0.0;
    for (var c = 0u; c < width; c++) {
        let v = x[t * K + k0 + c];
        re += v * dft[f * B + c];
        im += v * dft[(F + f) * B + c];
    }
    y[2u * i] = re;
    y[2u * i + 1u] = im;
}
