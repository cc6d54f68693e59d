//! Activation x activation products, batched: a [B, M, K] times b [B, K, N] (or [B, N, K] when
//! transposed, attention's Q K^T), scaled by alpha. One invocation per output.

use canao_ir::KernelClass;

use crate::emit::{Binding, FLAT_INDEX, FLAT_MAIN, Kernel, declare, f32_lit, grid_1d, work};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatMulShape {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub transpose_b: bool,
    pub alpha: f32,
}

pub fn emit(s: MatMulShape) -> Kernel {
    let bindings = vec![Binding::read("a"), Binding::read("b"), Binding::output()];
    let b_index = if s.transpose_b {
        "(bi * N + n) * K + k"
    } else {
        "(bi * K + k) * N + n"
    };
    let source = format!(
        "// y[bi, m, n] = ALPHA * sum over k of a[bi, m, k] * b{}\n\
         const B: u32 = {}u;\nconst M: u32 = {}u;\nconst K: u32 = {}u;\nconst N: u32 = {}u;\n\
         const ALPHA: f32 = {};\n\n{}\n{FLAT_MAIN}
    {FLAT_INDEX}
    if (i >= B * M * N) {{ return; }}
    let bi = i / (M * N);
    let m = i / N % M;
    let n = i % N;
    var acc = 0.0;
    for (var k = 0u; k < K; k++) {{
        acc += a[(bi * M + m) * K + k] * b[{b_index}];
    }}
    y[i] = ALPHA * acc;
}}
",
        if s.transpose_b { "[bi, n, k]" } else { "[bi, k, n]" },
        s.batch,
        s.m,
        s.k,
        s.n,
        f32_lit(s.alpha),
        declare(&bindings)
    );
    Kernel {
        name: if s.transpose_b { "matmul_bt" } else { "matmul" }.to_string(),
        source,
        bindings,
        workgroups: grid_1d(s.batch * s.m * s.n),
        tables: None,
        class: KernelClass::MatMul,
        work: work(s.batch * s.m * s.k * s.n, 0),
    }
}
