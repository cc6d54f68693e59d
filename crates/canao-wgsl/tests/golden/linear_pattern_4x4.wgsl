// pattern-sparse weight, 4x4 tiles, 2 patterns
// y[t, n] = epilogue(sum over k of x[t, k] * w[n, k]), row-major, for
// T = 50 tokens, K = 77 inputs, N = 33 outputs.
const T: u32 = 50u;
const K: u32 = 77u;
const N: u32 = 33u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn epilogue(v: f32, t: u32, n: u32) -> f32 {
    var r = v;
    return r;
}

const BR: u32 = 4u;
const BC: u32 = 4u;
const GC: u32 = 20u; // tiles per row

// Tile (r, c) of the grid takes pattern assign(r * GC + c); row i of pattern p keeps
// tile columns pat_cols(j) for j in pat_start(p * BR + i)..pat_start(p * BR + i + 1).
const PAT_START = array<u32, 9>(
    0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u
);
fn pat_start(i: u32) -> u32 { return PAT_START[i]; }
const PAT_COLS = array<u32, 8>(
    0u, 1u, 2u, 3u, 0u, 1u, 2u, 3u
);
fn pat_cols(i: u32) -> u32 { return PAT_COLS[i]; }
const ASSIGN = array<u32, 180>(
    1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u,
    0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u,
    0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u,
    1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u,
    0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u,
    0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u,
    1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u,
    0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u,
    0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u,
    1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u,
    0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u, 0u, 1u, 0u,
    0u, 1u, 0u, 0u
);
fn assign(i: u32) -> u32 { return ASSIGN[i]; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= T * N) { return; }
    let t = i / N;
    let n = i % N;
    let r = n / BR;
    var acc = 0.0;
    for (var c = 0u; c < GC; c++) {
        let row = assign(r * GC + c) * BR + n % BR;
        for (var j = pat_start(row); j < pat_start(row + 1u); j++) {
            let k = c * BC + pat_cols(j);
            if (k < K) {
                acc += x[t * K + k] * w[n * K + k];
            }
        }
    }
    y[i] = epilogue(acc, t, n);
}
