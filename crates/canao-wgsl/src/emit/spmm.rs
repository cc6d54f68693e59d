//! CSR sparse x dense products (graph convolution propagation): y [R, F] = A [R, C] x [C, F].
//! The adjacency is data, not code: its row pointers, columns and values are buffers, since a
//! graph's edges are too many to bake into a shader. One invocation per output element.

use canao_ir::KernelClass;

use crate::emit::{Binding, FLAT_INDEX, FLAT_MAIN, Kernel, declare, grid_1d, work};

/// The product for an adjacency of `rows` rows and `nnz` stored entries.
pub fn emit(rows: usize, features: usize, nnz: usize) -> Kernel {
    let bindings = vec![
        Binding::read_u32("indptr"),
        Binding::read_u32("indices"),
        Binding::read("values"),
        Binding::read("x"),
        Binding::output(),
    ];
    let source = format!(
        "// CSR SpMM: y[r, f] = sum over stored (r, c) of A[r, c] * x[c, f]\n\
         const R: u32 = {rows}u;\nconst F: u32 = {features}u;\n\n{}\n{FLAT_MAIN}
    {FLAT_INDEX}
    if (i >= R * F) {{ return; }}
    let r = i / F;
    let f = i % F;
    var acc = 0.0;
    for (var e = indptr[r]; e < indptr[r + 1u]; e++) {{
        acc += values[e] * x[indices[e] * F + f];
    }}
    y[i] = acc;
}}
",
        declare(&bindings)
    );
    Kernel {
        name: "spmm_csr".into(),
        source,
        bindings,
        workgroups: grid_1d(rows * features),
        tables: None,
        class: KernelClass::SpMM,
        work: work(nnz * features, 0),
    }
}
