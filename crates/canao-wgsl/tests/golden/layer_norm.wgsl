// layer norm: y = (x - mean) / sqrt(variance + EPS) * gamma + beta
// over 50 rows of D = 77, one workgroup per row.
const D: u32 = 77u;
const EPS: f32 = 1e-12;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> part: array<f32, 64>;

fn row_sum(v: f32, l: u32) -> f32 {
    part[l] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if (l < s) {
            part[l] += part[l + s];
        }
        workgroupBarrier();
    }
    let total = part[0];
    // Nobody may overwrite part[0] for the next sum before everyone has read it.
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    let row = wg.x * D;
    var s = 0.0;
    for (var i = l; i < D; i += 64u) { s += x[row + i]; }
    let mean = row_sum(s, l) / f32(D);
    var q = 0.0;
    for (var i = l; i < D; i += 64u) {
        let c = x[row + i] - mean;
        q += c * c;
    }
    let inv = 1.0 / sqrt(row_sum(q, l) / f32(D) + EPS);
    for (var i = l; i < D; i += 64u) {
        y[row + i] = (x[row + i] - mean) * inv * gamma[i] + beta[i];
    }
}
