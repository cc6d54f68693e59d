//! Kernels that compute each output element from a few input elements: residual adds, bias
//! adds, activations, the head split and merge of attention, embedding gathers, and the masked
//! mean that pools a sentence. All are one invocation per output element.

use canao_ir::{Activation, KernelClass};

use crate::emit::epilogue::{act_expr, act_functions};
use crate::emit::{Binding, FLAT_INDEX, FLAT_MAIN, Kernel, declare, grid_1d, work};

/// `y[i] = expr` for i < len, with `consts` declared and `prelude` functions before `main`; the
/// kernel is `name` of `class`.
fn map(
    (class, name): (KernelClass, &str),
    what: &str,
    len: usize,
    inputs: Vec<Binding>,
    consts: &str,
    prelude: &str,
    expr: &str,
) -> Kernel {
    let mut bindings = inputs;
    bindings.push(Binding::output());
    let source = format!(
        "// {what}\nconst LEN: u32 = {len}u;\n{consts}\n{}\n{prelude}{FLAT_MAIN}
    {FLAT_INDEX}
    if (i >= LEN) {{ return; }}
    y[i] = {expr};
}}
",
        declare(&bindings)
    );
    Kernel {
        name: name.to_string(),
        source,
        bindings,
        workgroups: grid_1d(len),
        tables: None,
        class,
        work: work(0, 0),
    }
}

pub fn add(len: usize) -> Kernel {
    map(
        (KernelClass::Add, "add"),
        "y = a + b, element-wise",
        len,
        vec![Binding::read("a"), Binding::read("b")],
        "",
        "",
        "a[i] + b[i]",
    )
}

/// y = x. A reshape (flatten) leaves row-major data as it is, but every value of a plan has its
/// own buffer.
pub fn copy(len: usize) -> Kernel {
    map(
        (KernelClass::Flatten, "copy"),
        "y = x (a reshape: the row-major order is unchanged)",
        len,
        vec![Binding::read("x")],
        "",
        "",
        "x[i]",
    )
}

/// x [.., N] + bias [N].
pub fn bias(len: usize, n: usize) -> Kernel {
    map(
        (KernelClass::Bias, "bias"),
        "y = x + bias, the bias broadcast over the last axis",
        len,
        vec![Binding::read("x"), Binding::read("bias")],
        &format!("const N: u32 = {n}u;\n"),
        "",
        "x[i] + bias[i % N]",
    )
}

pub fn activation(len: usize, act: Activation) -> Kernel {
    let kernel = map(
        (KernelClass::Activation, act.name()),
        &format!("y = {}(x), element-wise", act.name()),
        len,
        vec![Binding::read("x")],
        "",
        act_functions(act),
        &act_expr(act, "x[i]"),
    );
    let erf = if act == Activation::Gelu { len } else { 0 };
    Kernel {
        work: work(0, erf),
        ..kernel
    }
}

/// [S, H * D] -> [H, S, D].
pub fn split_heads(seq: usize, heads: usize, d: usize) -> Kernel {
    map(
        (KernelClass::Heads, "split_heads"),
        "y[h, s, d] = x[s, h * D + d]",
        seq * heads * d,
        vec![Binding::read("x")],
        &format!("const S: u32 = {seq}u;\nconst H: u32 = {heads}u;\nconst D: u32 = {d}u;\n"),
        "",
        "x[(i / D % S) * H * D + i / (S * D) * D + i % D]",
    )
}

/// [H, S, D] -> [S, H * D].
pub fn merge_heads(seq: usize, heads: usize, d: usize) -> Kernel {
    map(
        (KernelClass::Heads, "merge_heads"),
        "y[s, h * D + d] = x[h, s, d]",
        seq * heads * d,
        vec![Binding::read("x")],
        &format!("const S: u32 = {seq}u;\nconst H: u32 = {heads}u;\nconst D: u32 = {d}u;\n"),
        "",
        "x[(i / D % H * S + i / (H * D)) * D + i % D]",
    )
}

/// Rows of `table` [vocab, D] picked by `ids` [n] (ids are whole numbers held as f32; the host
/// checks them against the vocabulary before they reach the GPU).
pub fn embedding(n: usize, d: usize) -> Kernel {
    map(
        (KernelClass::Embedding, "embedding"),
        "y[t, d] = table[ids[t], d]",
        n * d,
        vec![Binding::read("ids"), Binding::read("table")],
        &format!("const D: u32 = {d}u;\n"),
        "",
        "table[u32(ids[i / D]) * D + i % D]",
    )
}

/// Mean of x [S, D] over the rows whose mask [S] is non-zero (count clamped at 1e-9).
pub fn masked_mean(seq: usize, d: usize) -> Kernel {
    map(
        (KernelClass::MaskedMean, "masked_mean"),
        "y[d] = sum over s of x[s, d] * mask[s] / max(sum of mask, 1e-9)",
        d,
        vec![Binding::read("x"), Binding::read("mask")],
        &format!("const S: u32 = {seq}u;\n"),
        "fn pooled(d: u32) -> f32 {
    var acc = 0.0;
    var count = 0.0;
    for (var s = 0u; s < S; s++) {
        acc += x[s * LEN + d] * mask[s];
        count += mask[s];
    }
    return acc / max(count, 1e-9);
}

",
        "pooled(i)",
    )
}
