// masked softmax over 600 rows of L = 50, one invocation per row.
const ROWS: u32 = 600u;
const L: u32 = 50u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn keep(j: u32) -> bool { return mask[j] != 0.0; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= ROWS) { return; }
    let row = i * L;
    var m = -3.402823e38;
    for (var j = 0u; j < L; j++) {
        if (keep(j)) { m = max(m, x[row + j]); }
    }
    var sum = 0.0;
    for (var j = 0u; j < L; j++) {
        if (keep(j)) { sum += exp(x[row + j] - m); }
    }
    let inv = select(0.0, 1.0 / sum, sum > 0.0);
    for (var j = 0u; j < L; j++) {
        y[row + j] = select(0.0, exp(x[row + j] - m) * inv, keep(j));
    }
}
