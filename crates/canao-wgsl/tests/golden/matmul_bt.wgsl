// y[bi, m, n] = ALPHA * sum over k of a[bi, m, k] * b[bi, n, k]
const B: u32 = 12u;
const M: u32 = 50u;
const K: u32 = 32u;
const N: u32 = 50u;
const ALPHA: f32 = 0.17677669;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= B * M * N) { return; }
    let bi = i / (M * N);
    let m = i / N % M;
    let n = i % N;
    var acc = 0.0;
    for (var k = 0u; k < K; k++) {
        acc += a[(bi * M + m) * K + k] * b[(bi * N + n) * K + k];
    }
    y[i] = ALPHA * acc;
}
