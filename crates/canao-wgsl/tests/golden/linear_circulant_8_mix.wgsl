// block-circulant weight, 8x8 tiles: step 2 of 3, per frequency bin the complex product of the
// input spectra x with the weight spectra w ([F][P][Q], the DFT of each tile's vector)
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
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const TILE: u32 = 16u;

var<workgroup> xs: array<array<vec2<f32>, 16>, 16>; // [token][input piece]
var<workgroup> ws: array<array<vec2<f32>, 16>, 16>; // [output piece][input piece]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
    let f = wg.z;
    let i = wg.x * TILE + l.x;
    let t = wg.y * TILE + l.y;
    // The w row this invocation stages (the tile's output pieces run along l.y while loading).
    let wi = wg.x * TILE + l.y;
    var acc = vec2<f32>(0.0, 0.0);
    for (var j0 = 0u; j0 < Q; j0 += TILE) {
        let j = j0 + l.x;
        var xv = vec2<f32>(0.0, 0.0);
        if (t < T && j < Q) {
            let a = 2u * ((f * T + t) * Q + j);
            xv = vec2<f32>(x[a], x[a + 1u]);
        }
        xs[l.y][l.x] = xv;
        var wv = vec2<f32>(0.0, 0.0);
        if (wi < P && j < Q) {
            let a = 2u * ((f * P + wi) * Q + j);
            wv = vec2<f32>(w[a], w[a + 1u]);
        }
        ws[l.y][l.x] = wv;
        workgroupBarrier();
        for (var jj = 0u; jj < TILE; jj++) {
            let u = xs[l.y][jj];
            let v = ws[l.x][jj];
            acc += vec2<f32>(u.x * v.x - u.y * v.y, u.x * v.y + u.y * v.x);
        }
        workgroupBarrier();
    }
    if (t < T && i < P) {
        let o = 2u * ((f * T + t) * P + i);
        y[o] = acc.x;
        y[o + 1u] = acc.y;
    }
}
