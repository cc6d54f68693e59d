// y[t, d] = table[ids[t], d]
const LEN: u32 = 19200u;
const D: u32 = 384u;

@group(0) @binding(0) var<storage, read> ids: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= LEN) { return; }
    y[i] = table[u32(ids[i / D]) * D + i % D];
}
