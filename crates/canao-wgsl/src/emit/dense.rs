//! Dense GEMM tiled through workgroup memory: a 16 x 16 workgroup computes a 16 x 16 tile of
//! y, staging 16-wide slices of x and w in shared memory so each value loaded from global
//! memory is used 16 times.

use crate::emit::epilogue::Epilogue;
use canao_ir::{KernelClass, WeightFormat};

use crate::emit::{Kernel, LinearShape, Tables, work};

/// Rows and columns of the output tile a workgroup computes, and the depth of a k slice.
pub const TILE: u32 = 16;

/// The tile size and the workgroup tiles the tiled weight kernels stage slices of x and w in.
pub(crate) fn tile_memory() -> String {
    format!(
        "const TILE: u32 = {TILE}u;\n\n\
         var<workgroup> xs: array<array<f32, {TILE}>, {TILE}>; // [token][k]\n\
         var<workgroup> ws: array<array<f32, {TILE}>, {TILE}>; // [output][k]\n"
    )
}

/// Once a slice is staged: wait for the whole tile, add its products to `acc`, and wait again
/// before the next slice overwrites it; indented by `indent` spaces.
pub(crate) fn accumulate_slice(indent: usize) -> String {
    let p = " ".repeat(indent);
    format!(
        "{p}workgroupBarrier();\n{p}for (var kk = 0u; kk < TILE; kk++) {{\n\
         {p}    acc += xs[l.y][kk] * ws[l.x][kk];\n{p}}}\n{p}workgroupBarrier();\n"
    )
}

pub fn emit(shape: LinearShape, ep: &Epilogue) -> Kernel {
    let (bindings, mut source) = shape.header("dense weight, tiled through workgroup memory", &Tables::default(), ep);
    source.push_str(&tile_memory());
    source.push_str(&format!(
        "\n\
@compute @workgroup_size({TILE}, {TILE})\n\
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {{
    let n = wg.x * TILE + l.x;
    let t = wg.y * TILE + l.y;
    // The w row this invocation stages (the tile's outputs run along l.y while loading).
    let wn = wg.x * TILE + l.y;
    var acc = 0.0;
    for (var k0 = 0u; k0 < K; k0 += TILE) {{
        let k = k0 + l.x;
        var xv = 0.0;
        if (t < T && k < K) {{ xv = x[t * K + k]; }}
        xs[l.y][l.x] = xv;
        var wv = 0.0;
        if (wn < N && k < K) {{ wv = w[wn * K + k]; }}
        ws[l.y][l.x] = wv;
{}    }}
    if (t < T && n < N) {{
        y[t * N + n] = epilogue(acc, t, n);
    }}
}}
",
        accumulate_slice(8)
    ));
    Kernel {
        name: format!("linear_dense{}", ep.suffix()),
        source,
        bindings,
        // Sizes fit u32: lowering refuses larger values.
        workgroups: [
            (shape.output as u32).div_ceil(TILE),
            (shape.tokens as u32).div_ceil(TILE),
            1,
        ],
        tables: None,
        class: KernelClass::Linear(WeightFormat::Dense),
        work: work(
            shape.macs(shape.input * shape.output),
            ep.transcendentals(shape.tokens * shape.output),
        ),
    }
}
