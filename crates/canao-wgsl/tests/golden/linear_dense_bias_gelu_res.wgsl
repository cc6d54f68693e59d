// dense weight, tiled through workgroup memory
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

const TILE: u32 = 16u;

var<workgroup> xs: array<array<f32, 16>, 16>; // [token][k]
var<workgroup> ws: array<array<f32, 16>, 16>; // [output][k]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
    let n = wg.x * TILE + l.x;
    let t = wg.y * TILE + l.y;
    // The w row this invocation stages (the tile's outputs run along l.y while loading).
    let wn = wg.x * TILE + l.y;
    var acc = 0.0;
    for (var k0 = 0u; k0 < K; k0 += TILE) {
        let k = k0 + l.x;
        var xv = 0.0;
        if (t < T && k < K) { xv = x[t * K + k]; }
        xs[l.y][l.x] = xv;
        var wv = 0.0;
        if (wn < N && k < K) { wv = w[wn * K + k]; }
        ws[l.y][l.x] = wv;
        workgroupBarrier();
        for (var kk = 0u; kk < TILE; kk++) {
            acc += xs[l.y][kk] * ws[l.x][kk];
        }
        workgroupBarrier();
    }
    if (t < T && n < N) {
        y[t * N + n] = epilogue(acc, t, n);
    }
}
