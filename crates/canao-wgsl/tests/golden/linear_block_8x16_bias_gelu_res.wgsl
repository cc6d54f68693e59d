// block-sparse weight, 8x16 blocks, 7 of 25 kept (mask baked in)
// y[t, n] = epilogue(sum over k of x[t, k] * w[n, k]), row-major, for
// T = 50 tokens, K = 77 inputs, N = 33 outputs.
const T: u32 = 50u;
const K: u32 = 77u;
const N: u32 = 33u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
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

const BR: u32 = 8u;
const BC: u32 = 16u;

// Block row r keeps blocks row_start(r)..row_start(r + 1); block b lies in block
// column cols(b) and is stored at w[b * BR * BC ..] as a BR x BC row-major tile.
fn row_start(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 0u: { v = 0u; }
        case 1u, 2u: { v = 2u; }
        case 3u: { v = 3u; }
        case 4u: { v = 5u; }
        case 5u: { v = 7u; }
        default: {}
    }
    return v;
}
fn cols(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 0u, 3u: { v = 0u; }
        case 5u: { v = 1u; }
        case 2u: { v = 2u; }
        case 1u, 4u: { v = 3u; }
        case 6u: { v = 4u; }
        default: {}
    }
    return v;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= T * N) { return; }
    // Neighbouring invocations take neighbouring outputs of one token.
    let t = i / N;
    let n = i % N;
    let r = n / BR;
    var acc = 0.0;
    for (var b = row_start(r); b < row_start(r + 1u); b++) {
        let k0 = cols(b) * BC;
        let wrow = (b * BR + n % BR) * BC;
        let width = min(BC, K - k0);
        for (var j = 0u; j < width; j++) {
            acc += x[t * K + k0 + j] * w[wrow + j];
        }
    }
    y[i] = epilogue(acc, t, n);
}
