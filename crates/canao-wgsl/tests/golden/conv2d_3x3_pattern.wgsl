// 2-D convolution with kernel patterns: 3 patterns, assigned per BR = 1 output channels
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
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

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

const BR: u32 = 1u;

// Kernel (o, c) takes row o % BR of pattern assign(o / BR * C + c); row r of pattern p
// keeps taps pat_cols(j) (= ky * KW + kx) for j in pat_start(p * BR + r)..pat_start(p * BR + r + 1).
fn pat_start(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 0u: { v = 0u; }
        case 1u: { v = 4u; }
        case 2u: { v = 8u; }
        case 3u: { v = 12u; }
        default: {}
    }
    return v;
}
fn pat_cols(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 0u: { v = 0u; }
        case 1u, 4u: { v = 1u; }
        case 2u, 5u: { v = 3u; }
        case 3u, 6u, 8u: { v = 4u; }
        case 7u, 9u: { v = 5u; }
        case 10u: { v = 7u; }
        case 11u: { v = 8u; }
        default: {}
    }
    return v;
}
fn assign(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 0u, 3u, 6u, 9u, 12u: { v = 0u; }
        case 1u, 4u, 7u, 10u, 13u: { v = 1u; }
        case 2u, 5u, 8u, 11u, 14u: { v = 2u; }
        default: {}
    }
    return v;
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
    var acc = 0.0;
    for (var c = 0u; c < C; c++) {
        let plane = n * C + c;
        let kernel = (o * C + c) * KH * KW;
        let row = assign(o / BR * C + c) * BR + o % BR;
        for (var j = pat_start(row); j < pat_start(row + 1u); j++) {
            let t = pat_cols(j);
            acc += tap(plane, kernel, oy, ox, t / KW, t % KW);
        }
    }
    y[i] = acc;
}
