// y[d] = sum over s of x[s, d] * mask[s] / max(sum of mask, 1e-9)
const LEN: u32 = 384u;
const S: u32 = 50u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn pooled(d: u32) -> f32 {
    var acc = 0.0;
    var count = 0.0;
    for (var s = 0u; s < S; s++) {
        acc += x[s * LEN + d] * mask[s];
        count += mask[s];
    }
    return acc / max(count, 1e-9);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= LEN) { return; }
    y[i] = pooled(i);
}
