//! Softmax over the last axis, optionally with a key mask (attention's masked softmax over
//! scores [heads, queries, keys]): masked keys get probability 0, and a row with every key
//! masked is all zero. One invocation per row.

use canao_ir::KernelClass;

use crate::emit::{Binding, FLAT_INDEX, FLAT_MAIN, Kernel, declare, grid_1d, work};

pub fn emit(rows: usize, len: usize, masked: bool) -> Kernel {
    let mut bindings = vec![Binding::read("x")];
    if masked {
        bindings.push(Binding::read("mask"));
    }
    bindings.push(Binding::output());
    let keep = if masked { "mask[j] != 0.0" } else { "true" };
    let source = format!(
        "// {}softmax over {rows} rows of L = {len}, one invocation per row.\n\
         const ROWS: u32 = {rows}u;\nconst L: u32 = {len}u;\n\n{}\n\
         fn keep(j: u32) -> bool {{ return {keep}; }}\n\n\
         {FLAT_MAIN}
    {FLAT_INDEX}
    if (i >= ROWS) {{ return; }}
    let row = i * L;
    var m = -3.402823e38;
    for (var j = 0u; j < L; j++) {{
        if (keep(j)) {{ m = max(m, x[row + j]); }}
    }}
    var sum = 0.0;
    for (var j = 0u; j < L; j++) {{
        if (keep(j)) {{ sum += exp(x[row + j] - m); }}
    }}
    let inv = select(0.0, 1.0 / sum, sum > 0.0);
    for (var j = 0u; j < L; j++) {{
        y[row + j] = select(0.0, exp(x[row + j] - m) * inv, keep(j));
    }}
}}
",
        if masked { "masked " } else { "" },
        declare(&bindings)
    );
    Kernel {
        name: if masked { "masked_softmax" } else { "softmax" }.to_string(),
        source,
        bindings,
        workgroups: grid_1d(rows),
        tables: None,
        class: KernelClass::Softmax,
        work: work(0, rows * len),
    }
}
