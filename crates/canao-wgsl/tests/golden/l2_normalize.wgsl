// L2 normalisation: y = x / max(sqrt(sum of x^2), 1e-12)
// over 1 rows of D = 384, one workgroup per row.
const D: u32 = 384u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

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
    var q = 0.0;
    for (var i = l; i < D; i += 64u) { q += x[row + i] * x[row + i]; }
    let norm = max(sqrt(row_sum(q, l)), 1e-12);
    for (var i = l; i < D; i += 64u) {
        y[row + i] = x[row + i] / norm;
    }
}
