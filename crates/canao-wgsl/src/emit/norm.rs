//! Row normalisations: layer norm and L2 normalisation. One workgroup of 64 per row; each
//! invocation strides along the row and the partial results meet in a tree reduction through
//! workgroup memory.

use canao_ir::KernelClass;

use crate::emit::{Binding, Kernel, WG, declare, f32_lit, work};

/// Sum of one value per invocation across the workgroup, returned to all of them.
const ROW_SUM: &str = "var<workgroup> part: array<f32, 64>;

fn row_sum(v: f32, l: u32) -> f32 {
    part[l] = v;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if (l < s) {
            part[l] += part[l + s];
        }
        workgroupBarrier();
    }
    let total = part[0];
    // Nobody may overwrite part[0] for the next sum before everyone has read it.
    workgroupBarrier();
    return total;
}
";

fn row_kernel(
    (class, name): (KernelClass, &str),
    what: &str,
    rows: usize,
    d: usize,
    bindings: Vec<Binding>,
    consts: &str,
    body: &str,
) -> Kernel {
    let source = format!(
        "// {what}\n// over {rows} rows of D = {d}, one workgroup per row.\n\
         const D: u32 = {d}u;\n{consts}\n{}\n{ROW_SUM}\n\
         @compute @workgroup_size({WG})\n\
         fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) l: u32) {{\n\
         \x20   let row = wg.x * D;\n{body}}}\n",
        declare(&bindings)
    );
    Kernel {
        name: name.to_string(),
        source,
        bindings,
        // Rows fit u32: lowering refuses larger values.
        workgroups: [rows as u32, 1, 1],
        tables: None,
        class,
        work: work(0, 0),
    }
}

/// y = (x - mean) / sqrt(var + eps) * gamma + beta over each row of D.
pub fn layer_norm(rows: usize, d: usize, eps: f32) -> Kernel {
    row_kernel(
        (KernelClass::LayerNorm, "layer_norm"),
        "layer norm: y = (x - mean) / sqrt(variance + EPS) * gamma + beta",
        rows,
        d,
        vec![
            Binding::read("x"),
            Binding::read("gamma"),
            Binding::read("beta"),
            Binding::output(),
        ],
        &format!("const EPS: f32 = {};\n", f32_lit(eps)),
        "    var s = 0.0;
    for (var i = l; i < D; i += 64u) { s += x[row + i]; }
    let mean = row_sum(s, l) / f32(D);
    var q = 0.0;
    for (var i = l; i < D; i += 64u) {
        let c = x[row + i] - mean;
        q += c * c;
    }
    let inv = 1.0 / sqrt(row_sum(q, l) / f32(D) + EPS);
    for (var i = l; i < D; i += 64u) {
        y[row + i] = (x[row + i] - mean) * inv * gamma[i] + beta[i];
    }
",
    )
}

/// y = x / max(|x|, 1e-12) over each row of D.
pub fn l2_normalize(rows: usize, d: usize) -> Kernel {
    row_kernel(
        (KernelClass::L2Normalize, "l2_normalize"),
        "L2 normalisation: y = x / max(sqrt(sum of x^2), 1e-12)",
        rows,
        d,
        vec![Binding::read("x"), Binding::output()],
        "",
        "    var q = 0.0;
    for (var i = l; i < D; i += 64u) { q += x[row + i] * x[row + i]; }
    let norm = max(sqrt(row_sum(q, l)), 1e-12);
    for (var i = l; i < D; i += 64u) {
        y[row + i] = x[row + i] / norm;
    }
",
    )
}
