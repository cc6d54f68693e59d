// pattern-sparse weight, 4x4 tiles, 2 patterns
// y[t, n] = epilogue(sum over k of x[t, k] * w[n, k]), row-major, for
// T = 50 tokens, K = 77 inputs, N = 33 outputs.
const T: u32 = 50u;
const K: u32 = 77u;
const N: u32 = 33u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn epilogue(v: f32, t: u32, n: u32) -> f32 {
    var r = v;
    return r;
}

const BR: u32 = 4u;
const BC: u32 = 4u;
const GC: u32 = 20u; // tiles per row

// Tile (r, c) of the grid takes pattern assign(r * GC + c); row i of pattern p keeps
// tile columns pat_cols(j) for j in pat_start(p * BR + i)..pat_start(p * BR + i + 1).
fn pat_start(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 0u: { v = 0u; }
        case 1u: { v = 1u; }
        case 2u: { v = 2u; }
        case 3u: { v = 3u; }
        case 4u: { v = 4u; }
        case 5u: { v = 5u; }
        case 6u: { v = 6u; }
        case 7u: { v = 7u; }
        case 8u: { v = 8u; }
        default: {}
    }
    return v;
}
fn pat_cols(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 0u, 4u: { v = 0u; }
        case 1u, 5u: { v = 1u; }
        case 2u, 6u: { v = 2u; }
        case 3u, 7u: { v = 3u; }
        default: {}
    }
    return v;
}
fn assign(i: u32) -> u32 {
    var v = 0u;
    switch i {
        case 1u, 2u, 4u, 5u, 7u, 8u, 10u, 11u,
             13u, 14u, 16u, 17u, 19u, 20u, 22u, 23u,
             25u, 26u, 28u, 29u, 31u, 32u, 34u, 35u,
             37u, 38u, 40u, 41u, 43u, 44u, 46u, 47u,
             49u, 50u, 52u, 53u, 55u, 56u, 58u, 59u,
             61u, 62u, 64u, 65u, 67u, 68u, 70u, 71u,
             73u, 74u, 76u, 77u, 79u, 80u, 82u, 83u,
             85u, 86u, 88u, 89u, 91u, 92u, 94u, 95u,
             97u, 98u, 100u, 101u, 103u, 104u, 106u, 107u,
             109u, 110u, 112u, 113u, 115u, 116u, 118u, 119u,
             121u, 122u, 124u, 125u, 127u, 128u, 130u, 131u,
             133u, 134u, 136u, 137u, 139u, 140u, 142u, 143u,
             145u, 146u, 148u, 149u, 151u, 152u, 154u, 155u,
             157u, 158u, 160u, 161u, 163u, 164u, 166u, 167u,
             169u, 170u, 172u, 173u, 175u, 176u, 178u, 179u: { v = 0u; }
        case 0u, 3u, 6u, 9u, 12u, 15u, 18u, 21u,
             24u, 27u, 30u, 33u, 36u, 39u, 42u, 45u,
             48u, 51u, 54u, 57u, 60u, 63u, 66u, 69u,
             72u, 75u, 78u, 81u, 84u, 87u, 90u, 93u,
             96u, 99u, 102u, 105u, 108u, 111u, 114u, 117u,
             120u, 123u, 126u, 129u, 132u, 135u, 138u, 141u,
             144u, 147u, 150u, 153u, 156u, 159u, 162u, 165u,
             168u, 171u, 174u, 177u: { v = 1u; }
        default: {}
    }
    return v;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
    let i = g.x + g.y * nw.x * 64u;
    if (i >= T * N) { return; }
    // Neighbouring invocations take neighbouring outputs of one token.
    let t = i / N;
    let n = i % N;
    let r = n / BR;
    var acc = 0.0;
    for (var c = 0u; c < GC; c++) {
        let row = assign(r * GC + c) * BR + n % BR;
        for (var j = pat_start(row); j < pat_start(row + 1u); j++) {
            let k = c * BC + pat_cols(j);
            if (k < K) {
                acc += x[t * K + k] * w[n * K + k];
            }
        }
    }
    y[i] = epilogue(acc, t, n);
}
