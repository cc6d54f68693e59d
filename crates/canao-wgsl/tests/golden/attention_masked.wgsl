// Fused masked attention: y = 1.0 softmax(0.17677669 q k^T) v for 12 problems of
// Q = 128 queries and S = 128 keys; queries and keys are D = 32 wide, values DV = 32.
// One workgroup per (query, problem); the scores of its row stay in workgroup memory.
const Q: u32 = 128u;
const S: u32 = 128u;
const D: u32 = 32u;
const DV: u32 = 32u;
const ALPHA: f32 = 0.17677669;
const OUT_ALPHA: f32 = 1.0;

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> qrow: array<f32, D>;
var<workgroup> p: array<f32, S>;
var<workgroup> red: array<f32, 64>;

fn keep(j: u32) -> bool { return mask[j] != 0.0; }
fn sum_of(a: f32, b: f32) -> f32 { return a + b; }

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wid.y * Q + wid.x;
    for (var c = lid; c < D; c += 64u) {
        qrow[c] = q[row * D + c];
    }
    workgroupBarrier();
    let keys = wid.y * S;
    var m = -3.402823e38;
    for (var j = lid; j < S; j += 64u) {
        var s = 0.0;
        if (keep(j)) {
            let kb = (keys + j) * D;
            for (var c = 0u; c < D; c++) {
                s += qrow[c] * k[kb + c];
            }
            s *= ALPHA;
            m = max(m, s);
        }
        p[j] = s;
    }
    red[lid] = m;
    workgroupBarrier();
    for (var w = 32u; w > 0u; w = w >> 1u) {
        if (lid < w) { red[lid] = max(red[lid], red[lid + w]); }
        workgroupBarrier();
    }
    let top = red[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var j = lid; j < S; j += 64u) {
        let e = select(0.0, exp(p[j] - top), keep(j));
        p[j] = e;
        sum += e;
    }
    red[lid] = sum;
    workgroupBarrier();
    for (var w = 32u; w > 0u; w = w >> 1u) {
        if (lid < w) { red[lid] = sum_of(red[lid], red[lid + w]); }
        workgroupBarrier();
    }
    // Every key masked: probabilities of zero, as the softmax defines it.
    let scale = select(0.0, OUT_ALPHA / red[0], red[0] > 0.0);
    for (var c = lid; c < DV; c += 64u) {
        var acc = 0.0;
        for (var j = 0u; j < S; j++) {
            acc += p[j] * v[(keys + j) * DV + c];
        }
        y[row * DV + c] = acc * scale;
    }
}
