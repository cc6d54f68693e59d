// CSR SpMM: y[r, f] = sum over stored (r, c) of A[r, c] * x[c, f]
const R: u32 = 2708u;
const F: u32 = 16u;

@group(0) @binding(0) var<storage, read> indptr: array<u32>;
@group(0) @binding(1) var<storage, read> indices: array<u32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= R * F) { return; }
    let r = i / F;
    let f = i % F;
    var acc = 0.0;
    for (var e = indptr[r]; e < indptr[r + 1u]; e++) {
        acc += values[e] * x[indices[e] * F + f];
    }
    y[i] = acc;
}
