//! Kernels of CNNs over NCHW activations: direct 2-D convolution, dense or visiting only the kept
//! taps of per-kernel patterns (the 3x3 kernel patterns of pattern pruning, ALGORITHMS.md §4),
//! and max / average pooling. One invocation per output element; shapes, stride and padding are
//! baked in as constants.

use canao_ir::{KernelClass, PoolKind, Sparsity, WeightFormat};

use crate::emit::pattern::PatternLayout;
use crate::emit::{Binding, FLAT_INDEX, FLAT_MAIN, Kernel, Tables, declare, f32_lit, grid_1d, work};

/// A window sliding over x [N, C, H, W] to give y [N, O, HO, WO]: a convolution's, or a pool's
/// (O = C, no padding). Output sizes come from the IR's shape inference, not recomputed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub out_channels: usize,
    pub out_height: usize,
    pub out_width: usize,
    /// [rows, columns] of the window.
    pub kernel: [usize; 2],
    pub stride: usize,
    pub padding: usize,
}

impl Window {
    /// From the NCHW shapes of x and y (rank 4, as the IR's shape inference guarantees).
    pub fn new(x: &[usize], y: &[usize], kernel: [usize; 2], stride: usize, padding: usize) -> Self {
        Self {
            batch: x[0],
            channels: x[1],
            height: x[2],
            width: x[3],
            out_channels: y[1],
            out_height: y[2],
            out_width: y[3],
            kernel,
            stride,
            padding,
        }
    }

    fn outputs(&self) -> usize {
        self.batch * self.out_channels * self.out_height * self.out_width
    }

    /// Output positions of one output channel (each weight is used once per position).
    fn positions(&self) -> usize {
        self.batch * self.out_height * self.out_width
    }

    /// The source every window kernel starts with: the shape as constants and the bindings.
    fn header(&self, what: &str, bindings: &[Binding]) -> String {
        let [kh, kw] = self.kernel;
        format!(
            "// {what}\n// x [N, C, H, W] -> y [N, O, HO, WO], row-major, by a KH x KW window at stride S\n\
             // over x padded with P zeros on every side.\n\
             const N: u32 = {}u;\nconst C: u32 = {}u;\nconst H: u32 = {}u;\nconst W: u32 = {}u;\n\
             const O: u32 = {}u;\nconst HO: u32 = {}u;\nconst WO: u32 = {}u;\n\
             const KH: u32 = {kh}u;\nconst KW: u32 = {kw}u;\nconst S: u32 = {}u;\nconst P: u32 = {}u;\n\n{}\n",
            self.batch,
            self.channels,
            self.height,
            self.width,
            self.out_channels,
            self.out_height,
            self.out_width,
            self.stride,
            self.padding,
            declare(bindings)
        )
    }
}

/// Reads one tap of a convolution window. Rows and columns are counted in padded coordinates so
/// that the padding test needs no signed arithmetic.
const TAP: &str = "// x at tap (ky, kx) of output (oy, ox)'s window over channel plane `plane` (= n * C + c),
// zero in the padding, times that tap's weight in the KH x KW kernel starting at w[kernel].
fn tap(plane: u32, kernel: u32, oy: u32, ox: u32, ky: u32, kx: u32) -> f32 {
    let py = oy * S + ky;
    let px = ox * S + kx;
    if (py < P || px < P || py >= H + P || px >= W + P) {
        return 0.0;
    }
    return x[(plane * H + py - P) * W + px - P] * w[kernel + ky * KW + kx];
}
";

/// The convolution kernel for a weight [O, C, KH, KW] of structure `sparsity`, and the weight
/// data it binds. The IR views the weight as the matrix [O, C * KH * KW] for sparsity, so a
/// pattern whose tiles are whole kernels (block [r, KH * KW]) is a kernel pattern: it gets the
/// pattern kernel, which skips the pruned taps. Every other structure (block masks, patterns
/// that straddle kernels, circulant) runs as the dense kernel over the projected weight, as the
/// interpreter computes it: exact, but without the skipped work. (CSR never gets here: a CSR
/// parameter is bound to a CSR matrix, which `Weights::dense` refuses for a conv weight.)
pub fn conv2d(window: Window, sparsity: &Sparsity, w: &[f32], bias: bool) -> (Kernel, Vec<f32>) {
    let [kh, kw] = window.kernel;
    match sparsity {
        Sparsity::Pattern {
            block,
            patterns,
            assign,
        } if block[1] == kh * kw => {
            let layout = PatternLayout::new(*block, patterns, assign);
            // Only the kept taps are read, so the unprojected weight serves.
            (pattern(window, &layout, bias), w.to_vec())
        }
        _ => {
            let mut d = w.to_vec();
            sparsity.project(&[window.out_channels, window.channels * kh * kw], &mut d);
            (dense(window, bias), d)
        }
    }
}

/// Every tap of every kernel.
pub fn dense(window: Window, bias: bool) -> Kernel {
    let [kh, kw] = window.kernel;
    conv(
        window,
        format!("conv2d_{kh}x{kw}"),
        "dense 2-D convolution",
        &Tables::default(),
        "",
        bias,
        "        for (var ky = 0u; ky < KH; ky++) {
            for (var kx = 0u; kx < KW; kx++) {
                acc += tap(plane, kernel, oy, ox, ky, kx);
            }
        }
",
    )
}

/// Only the taps each kernel's pattern keeps. `layout` tiles the weight matrix
/// [O, C * KH * KW] in blocks [BR, KH * KW]: kernel (o, c) is row o % BR of tile (o / BR, c).
pub fn pattern(window: Window, layout: &PatternLayout, bias: bool) -> Kernel {
    let [kh, kw] = window.kernel;
    let br = layout.block[0];
    let patterns = (layout.start.len() - 1) / br;
    let mut tables = Tables::default();
    tables.add("pat_start", layout.start.clone());
    tables.add("pat_cols", layout.cols.clone());
    tables.add("assign", layout.assign.clone());
    let kept = layout.kept([window.out_channels, window.channels * kh * kw]);
    let kernel = conv(
        window,
        format!("conv2d_{kh}x{kw}_pattern"),
        &format!("2-D convolution with kernel patterns: {patterns} patterns, assigned per BR = {br} output channels"),
        &tables,
        &format!(
            "\nconst BR: u32 = {br}u;\n\n\
             // Kernel (o, c) takes row o % BR of pattern assign(o / BR * C + c); row r of pattern p\n\
             // keeps taps pat_cols(j) (= ky * KW + kx) for j in pat_start(p * BR + r)..pat_start(p * BR + r + 1).\n"
        ),
        bias,
        "        let row = assign(o / BR * C + c) * BR + o % BR;
        for (var j = pat_start(row); j < pat_start(row + 1u); j++) {
            let t = pat_cols(j);
            acc += tap(plane, kernel, oy, ox, t / KW, t % KW);
        }
",
    );
    Kernel {
        class: KernelClass::Conv(WeightFormat::Pattern),
        work: work(window.positions() * kept, 0),
        ..kernel
    }
}

/// A convolution whose inner loop over the taps of kernel (o, c) is `taps`, reading `tables`;
/// `prelude` (its constants) goes before the tables. Its work is the dense convolution's.
fn conv(window: Window, name: String, what: &str, tables: &Tables, prelude: &str, bias: bool, taps: &str) -> Kernel {
    let mut bindings = vec![Binding::read("x"), Binding::read("w")];
    bindings.extend(tables.binding());
    if bias {
        bindings.push(Binding::read("bias"));
    }
    bindings.push(Binding::output());
    let mut source = window.header(what, &bindings);
    source.push_str(TAP);
    source.push_str(prelude);
    source.push_str(&tables.wgsl());
    let init = if bias { "bias[o]" } else { "0.0" };
    source.push_str(&format!(
        "\n{FLAT_MAIN}
    {FLAT_INDEX}
    if (i >= N * O * HO * WO) {{ return; }}
    // Neighbouring invocations take neighbouring outputs of one row.
    let ox = i % WO;
    let oy = i / WO % HO;
    let o = i / (HO * WO) % O;
    let n = i / (O * HO * WO);
    var acc = {init};
    for (var c = 0u; c < C; c++) {{
        let plane = n * C + c;
        let kernel = (o * C + c) * KH * KW;
{taps}    }}
    y[i] = acc;
}}
"
    ));
    Kernel {
        name: format!("{name}{}", if bias { "_bias" } else { "" }),
        source,
        bindings,
        workgroups: grid_1d(window.outputs()),
        tables: tables.data(),
        class: KernelClass::Conv(WeightFormat::Dense),
        work: work(
            window.outputs() * window.channels * window.kernel[0] * window.kernel[1],
            0,
        ),
    }
}

/// Max or average over each window (`window.padding` is 0: the IR's pools do not pad).
pub fn pool(window: Window, kind: PoolKind) -> Kernel {
    let [kh, kw] = window.kernel;
    // Max starts from the window's first value: WGSL has no infinity literal.
    let (init, update, result) = match kind {
        PoolKind::Max => ("x[base]", "max(acc, v)", "acc".to_string()),
        PoolKind::Avg => ("0.0", "acc + v", format!("acc / {}", f32_lit((kh * kw) as f32))),
    };
    let bindings = vec![Binding::read("x"), Binding::output()];
    let mut source = window.header(&format!("{} over {kh}x{kw} windows", kind.name()), &bindings);
    source.push_str(&format!(
        "{FLAT_MAIN}
    {FLAT_INDEX}
    if (i >= N * O * HO * WO) {{ return; }}
    let ox = i % WO;
    let oy = i / WO % HO;
    // O = C: output plane i / (HO * WO) reads input plane n * C + c of the same index.
    let base = ((i / (HO * WO)) * H + oy * S) * W + ox * S;
    var acc = {init};
    for (var ky = 0u; ky < KH; ky++) {{
        for (var kx = 0u; kx < KW; kx++) {{
            let v = x[base + ky * W + kx];
            acc = {update};
        }}
    }}
    y[i] = {result};
}}
"
    ));
    Kernel {
        name: format!("{}_{kh}x{kw}", kind.name()),
        source,
        bindings,
        workgroups: grid_1d(window.outputs()),
        tables: None,
        class: KernelClass::Pool,
        work: work(0, 0),
    }
}
