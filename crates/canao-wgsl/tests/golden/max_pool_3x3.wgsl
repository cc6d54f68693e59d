// max_pool over 3x3 windows
// x [N, C, H, W] -> y [N, O, HO, WO], row-major, by a KH x KW window at stride S
// over x padded with P zeros on every side.
const N: u32 = 2u;
const C: u32 = 3u;
const H: u32 = 11u;
const W: u32 = 13u;
const O: u32 = 3u;
const HO: u32 = 5u;
const WO: u32 = 6u;
const KH: u32 = 3u;
const KW: u32 = 3u;
const S: u32 = 2u;
const P: u32 = 0u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= N * O * HO * WO) { return; }
    let ox = i % WO;
    let oy = i / WO % HO;
    // O = C: output plane i / (HO * WO) reads input plane n * C + c of the same index.
    let base = ((i / (HO * WO)) * H + oy * S) * W + ox * S;
    var acc = x[base];
    for (var ky = 0u; ky < KH; ky++) {
        for (var kx = 0u; kx < KW; kx++) {
            let v = x[base + ky * W + kx];
            acc = max(acc, v);
        }
    }
    y[i] = acc;
}
