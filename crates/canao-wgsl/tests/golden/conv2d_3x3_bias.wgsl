// dense 2-D convolution
// x [N, C, H, W] -> y [N, O, HO, WO], row-major, by a KH x KW window at stride S
// over x padded with P zeros on every side.
const N: u32 = 2u;
const C: u32 = 3u;
const H: u32 = 11u;
const W: u32 = 13u;
const O: u32 = 5u;
const HO: u32 = 6u;
const WO: u32 = 7u;
const KH: u32 = 3u;
const KW: u32 = 3u;
const S: u32 = 2u;
const P: u32 = 1u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// x at tap (ky, kx) of output (oy, ox)'s window over channel plane `plane` (= n * C + c),
// zero in the padding, times that tap's weight in the KH x KW kernel starting at w[kernel].
fn tap(plane: u32, kernel: u32, oy: u32, ox: u32, ky: u32, kx: u32) -> f32 {
    let py = oy * S + ky;
    let px = ox * S + kx;
    if (py < P || px < P || py >= H + P || px >= W + P) {
        return 0.0;
    }
    return x[(plane * H + py - P) * W + px - P] * w[kernel + ky * KW + kx];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= N * O * HO * WO) { return; }
    // Neighbouring invocations take neighbouring outputs of one row.
    let ox = i % WO;
    let oy = i / WO % HO;
    let o = i / (HO * WO) % O;
    let n = i / (O * HO * WO);
    var acc = bias[o];
    for (var c = 0u; c < C; c++) {
        let plane = n * C + c;
        let kernel = (o * C + c) * KH * KW;
        for (var ky = 0u; ky < KH; ky++) {
            for (var kx = 0u; kx < KW; kx++) {
                acc += tap(plane, kernel, oy, ox, ky, kx);
            }
        }
    }
    y[i] = acc;
}
