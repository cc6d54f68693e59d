// block-sparse weight, 16x32 blocks, 5 of 9 kept (mask baked in)
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

const BR: u32 = 16u;
const BC: u32 = 32u;

// Block row r keeps blocks row_start(r)..row_start(r + 1); block b lies in block
// column cols(b) and is stored at w[b * BR * BC ..] as a BR x BC row-major tile.
fn row_start(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 0u: { v = 0u; }
        case 1u: { v = 2u; }
        case 2u: { v = 3u; }
        case 3u: { v = 5u; }
        default: {}
    }
    return v;
}
fn cols(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 0u, 3u: { v = 0u; }
        case 2u: { v = 1u; }
        case 1u, 4u: { v = 2u; }
        default: {}
    }
    return v;
}

const TILE: u32 = 16u;

var<workgroup> xs: array<array<f32, 16>, 16>; // [token][k]
var<workgroup> ws: array<array<f32, 16>, 16>; // [output][k]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
    let n0 = wg.x * TILE;
    let n = n0 + l.x;
    let t = wg.y * TILE + l.y;
    let r = n0 / BR;
    // The row of each kept block this invocation stages (outputs run along l.y while loading).
    let wrow = n0 % BR + l.y;
    var acc = 0.0;
    for (var b = row_start(r); b < row_start(r + 1u); b++) {
        for (var s = 0u; s < BC; s += TILE) {
            let k = cols(b) * BC + s + l.x;
            var xv = 0.0;
            if (t < T && k < K) { xv = x[t * K + k]; }
            xs[l.y][l.x] = xv;
            // Packed tiles are zero-padded past the matrix's edges: no bounds to test.
            ws[l.y][l.x] = w[(b * BR + wrow) * BC + s + l.x];
            workgroupBarrier();
            for (var kk = 0u; kk < TILE; kk++) {
                acc += xs[l.y][kk] * ws[l.x][kk];
            }
            workgroupBarrier();
        }
    }
    if (t < T && n < N) {
        y[t * N + n] = epilogue(acc, t, n);
    }
}
