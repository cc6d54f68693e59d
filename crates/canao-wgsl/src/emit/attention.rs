//! Fused attention: softmax(alpha q k^T over the kept keys) v for one query row per workgroup,
//! with the row's scores kept in workgroup memory. The unfused route writes the scores and
//! the probabilities to memory and reads each back once ([heads, queries, keys] twice over),
//! in three dispatches; this one reads q, k, v and the mask and writes only the context.
//!
//! Per workgroup (head h, query i), 64 invocations:
//! 1. the query row goes to workgroup memory;
//! 2. each invocation scores keys lid, lid + 64, ... and keeps its running maximum;
//! 3. a tree reduction gives the row maximum, the exponentials replace the scores, a second
//!    reduction gives their sum;
//! 4. each invocation accumulates output columns lid, lid + 64, ... over all keys.

use canao_ir::KernelClass;

use crate::emit::{Binding, Kernel, WG, declare, f32_lit, work};

/// Workgroup memory WebGPU guarantees (maxComputeWorkgroupStorageSize), in bytes.
const WORKGROUP_BYTES: usize = 16_384;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionShape {
    /// Independent attention problems (heads times batch).
    pub heads: usize,
    pub queries: usize,
    pub keys: usize,
    /// Width of queries and keys.
    pub dim: usize,
    /// Width of values and of the output.
    pub value_dim: usize,
    /// Scale of the scores.
    pub alpha: f32,
    /// Scale of the output.
    pub out_alpha: f32,
    pub masked: bool,
}

impl AttentionShape {
    /// True when a query row and its scores fit in the workgroup memory every adapter has.
    pub fn fits(&self) -> bool {
        4 * (self.dim + self.keys + WG as usize) <= WORKGROUP_BYTES
    }
}

/// The fused kernel; the caller checks [`AttentionShape::fits`] and that `queries` and `heads`
/// are within the workgroup grid's limits.
pub fn emit(s: &AttentionShape) -> Kernel {
    let mut bindings = vec![Binding::read("q"), Binding::read("k"), Binding::read("v")];
    if s.masked {
        bindings.push(Binding::read("mask"));
    }
    bindings.push(Binding::output());
    let keep = if s.masked { "mask[j] != 0.0" } else { "true" };
    let reduce = |op: &str| {
        format!(
            "    for (var w = {half}u; w > 0u; w = w >> 1u) {{
        if (lid < w) {{ red[lid] = {op}(red[lid], red[lid + w]); }}
        workgroupBarrier();
    }}",
            half = WG / 2
        )
    };
    let source = format!(
        "// Fused {masked}attention: y = {out} softmax({alpha} q k^T) v for {h} problems of\n\
         // Q = {q} queries and S = {k} keys; queries and keys are D = {d} wide, values DV = {dv}.\n\
         // One workgroup per (query, problem); the scores of its row stay in workgroup memory.\n\
         const Q: u32 = {q}u;\nconst S: u32 = {k}u;\nconst D: u32 = {d}u;\nconst DV: u32 = {dv}u;\n\
         const ALPHA: f32 = {alpha};\nconst OUT_ALPHA: f32 = {out};\n\n{decl}\n\
         var<workgroup> qrow: array<f32, D>;\nvar<workgroup> p: array<f32, S>;\n\
         var<workgroup> red: array<f32, {wg}>;\n\n\
         fn keep(j: u32) -> bool {{ return {keep}; }}\n\
         fn sum_of(a: f32, b: f32) -> f32 {{ return a + b; }}\n\n\
         @compute @workgroup_size({wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {{
    let row = wid.y * Q + wid.x;
    for (var c = lid; c < D; c += {wg}u) {{
        qrow[c] = q[row * D + c];
    }}
    workgroupBarrier();
    let keys = wid.y * S;
    var m = -3.402823e38;
    for (var j = lid; j < S; j += {wg}u) {{
        var s = 0.0;
        if (keep(j)) {{
            let kb = (keys + j) * D;
            for (var c = 0u; c < D; c++) {{
                s += qrow[c] * k[kb + c];
            }}
            s *= ALPHA;
            m = max(m, s);
        }}
        p[j] = s;
    }}
    red[lid] = m;
    workgroupBarrier();
{max}
    let top = red[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var j = lid; j < S; j += {wg}u) {{
        let e = select(0.0, exp(p[j] - top), keep(j));
        p[j] = e;
        sum += e;
    }}
    red[lid] = sum;
    workgroupBarrier();
{sum}
    // Every key masked: probabilities of zero, as the softmax defines it.
    let scale = select(0.0, OUT_ALPHA / red[0], red[0] > 0.0);
    for (var c = lid; c < DV; c += {wg}u) {{
        var acc = 0.0;
        for (var j = 0u; j < S; j++) {{
            acc += p[j] * v[(keys + j) * DV + c];
        }}
        y[row * DV + c] = acc * scale;
    }}
}}
",
        masked = if s.masked { "masked " } else { "" },
        out = f32_lit(s.out_alpha),
        alpha = f32_lit(s.alpha),
        h = s.heads,
        q = s.queries,
        k = s.keys,
        d = s.dim,
        dv = s.value_dim,
        decl = declare(&bindings),
        wg = WG,
        max = reduce("max"),
        sum = reduce("sum_of"),
    );
    Kernel {
        name: format!("attention{}", if s.masked { "_masked" } else { "" }),
        source,
        bindings,
        workgroups: [s.queries as u32, s.heads as u32, 1],
        tables: None,
        class: KernelClass::Attention,
        work: work(
            s.heads * s.queries * s.keys * (s.dim + s.value_dim),
            s.heads * s.queries * s.keys,
        ),
    }
}
