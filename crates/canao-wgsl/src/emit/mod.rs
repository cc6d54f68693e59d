//! WGSL emission: one generator per kernel family, each returning a [`Kernel`]: plain, readable
//! source specialised to its shapes (and to its weight's sparsity), the storage buffers it binds
//! in binding order, and the workgroup grid to dispatch. Emission needs no GPU.
//!
//! Every value is a flat row-major `array<f32>` in the IR's own layout ([tokens, features] for
//! activations, [out, in] for weights), so a kernel's indexing reads like the IR's definition.

pub mod attention;
pub mod block;
pub mod circulant;
pub mod conv;
pub mod dense;
pub mod elementwise;
pub mod epilogue;
pub mod matmul;
pub mod norm;
pub mod pattern;
pub mod softmax;
pub mod spmm;

use std::collections::BTreeMap;
use std::fmt::Write;

use canao_ir::{KernelClass, WeightFormat, Work};

/// Invocations in a one-dimensional workgroup; also the width of the row reductions.
pub const WG: u32 = 64;
/// WebGPU's guaranteed limit on workgroups along one dispatch dimension.
pub const MAX_GROUPS: u32 = 65_535;

/// Element type of a storage buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    F32,
    /// Indices (CSR row pointers and columns).
    U32,
}

/// One storage buffer a kernel binds, at `@group(0) @binding(i)` for its position i.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub name: &'static str,
    pub elem: Elem,
    /// Only the last binding of every kernel, its output, is written.
    pub writable: bool,
}

impl Binding {
    pub fn read(name: &'static str) -> Self {
        Self {
            name,
            elem: Elem::F32,
            writable: false,
        }
    }

    pub fn read_u32(name: &'static str) -> Self {
        Self {
            name,
            elem: Elem::U32,
            writable: false,
        }
    }

    pub fn output() -> Self {
        Self {
            name: "y",
            elem: Elem::F32,
            writable: true,
        }
    }
}

/// A generated compute shader with entry point `main`.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// Family and specialisation, e.g. `linear_block_4x8`: names golden files and profiles.
    pub name: String,
    pub source: String,
    pub bindings: Vec<Binding>,
    pub workgroups: [u32; 3],
    /// Index tables too large to bake, for the `tables` binding.
    pub tables: Option<Vec<u32>>,
    /// The latency model's class of this kernel.
    pub class: KernelClass,
    /// What only the kernel's own shapes tell of its work: multiply-accumulates and
    /// transcendentals. The plan adds the call, the elements written and the bytes bound.
    pub work: Work,
}

/// A kernel's own work: `macs` multiply-accumulates and `transcendentals` exp / erf evaluations.
pub fn work(macs: usize, transcendentals: usize) -> Work {
    Work {
        macs: macs as f64,
        transcendentals: transcendentals as f64,
        ..Work::default()
    }
}

/// `@group(0) @binding(i) var<storage, ...>` lines for `bindings`.
pub fn declare(bindings: &[Binding]) -> String {
    let mut s = String::new();
    for (i, b) in bindings.iter().enumerate() {
        let access = if b.writable { "read_write" } else { "read" };
        let elem = match b.elem {
            Elem::F32 => "f32",
            Elem::U32 => "u32",
        };
        writeln!(
            s,
            "@group(0) @binding({i}) var<storage, {access}> {}: array<{elem}>;",
            b.name
        )
        .expect("writing to a String cannot fail");
    }
    s
}

/// Index tables of at most this many entries in all are baked into the source, larger ones go
/// to a storage buffer. Baked tables are `switch` statements, not `const` arrays: WGSL has no
/// constant memory, and naga's SPIR-V output copies a dynamically indexed `const` array into
/// every invocation's function memory, while a switch that picks constants is what compilers
/// turn into a lookup table of their own. On lavapipe, `const` arrays of 150 to 1,000 entries
/// made block kernels 1.4 to 24 times and pattern kernels 30 to 35 times slower than switches
/// (results/wgpu-lavapipe.md); under about 90 entries arrays were up to 1.5 times faster.
pub const BAKE_LIMIT: usize = 1024;

/// The index tables a sparse kernel reads (kept block columns, patterns, tile assignments),
/// each read through an accessor function `name(i)`, so the kernel body is the same whether
/// they are baked in or bound.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tables {
    entries: Vec<(&'static str, Vec<u32>)>,
}

impl Tables {
    /// Adds table `name` (lower case: its accessor is `name(i)`, a baked array `NAME`).
    pub fn add(&mut self, name: &'static str, values: Vec<u32>) {
        self.entries.push((name, values));
    }

    fn len(&self) -> usize {
        self.entries.iter().map(|(_, v)| v.len()).sum()
    }

    /// True when the tables are part of the source.
    pub fn baked(&self) -> bool {
        self.len() <= BAKE_LIMIT
    }

    /// The storage binding the tables need when they are not baked.
    pub fn binding(&self) -> Option<Binding> {
        (!self.baked()).then(|| Binding::read_u32("tables"))
    }

    /// Their contents, concatenated in order, when they are bound rather than baked.
    pub fn data(&self) -> Option<Vec<u32>> {
        (!self.baked()).then(|| self.entries.iter().flat_map(|(_, v)| v.iter().copied()).collect())
    }

    /// Baked: the accessor is a `switch` picking a constant, the indices of each distinct value
    /// in one case. (The cases assign and the function returns after the switch: with a `return`
    /// in each case, some block kernels computed wrong sums on lavapipe.) Bound: an accessor
    /// reading the table's slice of the `tables` buffer.
    pub fn wgsl(&self) -> String {
        let mut s = String::new();
        let mut offset = 0;
        for (name, values) in &self.entries {
            if self.baked() {
                writeln!(
                    s,
                    "fn {name}(i: u32) -> u32 {{\n    var v = 0u;\n    switch i {{\n{}    }}\n    return v;\n}}",
                    switch_cases(values)
                )
            } else {
                writeln!(
                    s,
                    "// {} entries, at tables[{offset}..]\nfn {name}(i: u32) -> u32 {{ return tables[{offset}u + i]; }}",
                    values.len()
                )
            }
            .expect("writing to a String cannot fail");
            offset += values.len();
        }
        s
    }
}

/// The cases of a switch over index `i` setting `v = values[i]`: one case per distinct value,
/// listing its indices (eight a line); indices past the end leave `v` at 0.
fn switch_cases(values: &[u32]) -> String {
    let mut by_value: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, &v) in values.iter().enumerate() {
        by_value.entry(v).or_default().push(i);
    }
    let mut s = String::new();
    for (v, indices) in by_value {
        let lines: Vec<String> = indices
            .chunks(8)
            .map(|c| c.iter().map(|i| format!("{i}u")).collect::<Vec<_>>().join(", "))
            .collect();
        writeln!(s, "        case {}: {{ v = {v}u; }}", lines.join(",\n             "))
            .expect("writing to a String cannot fail");
    }
    s.push_str("        default: {}\n");
    s
}

/// A WGSL f32 literal that round-trips `v` exactly.
pub fn f32_lit(v: f32) -> String {
    let s = format!("{v:?}");
    if s.contains(['.', 'e']) { s } else { format!("{s}.0") }
}

/// Workgroups for `n` invocations of a one-dimensional kernel: x first, overflowing into y.
/// Kernels recover the flat index with [`FLAT_INDEX`].
pub fn grid_1d(n: usize) -> [u32; 3] {
    // Sizes fit u32: lowering refuses values of more than u32::MAX elements.
    let groups = (n as u32).div_ceil(WG);
    let x = groups.min(MAX_GROUPS);
    [x, groups.div_ceil(x.max(1)), 1]
}

/// The flat invocation index of a kernel dispatched with [`grid_1d`] (needs `g` =
/// global_invocation_id and `nw` = num_workgroups).
pub const FLAT_INDEX: &str = "let i = g.x + g.y * nw.x * 64u;";

/// The start of a flat kernel with one invocation per element of a [T, N] output: `t` and `n`
/// name the element, and neighbouring invocations take neighbouring outputs of one token.
pub fn per_output_main() -> String {
    format!(
        "\n{FLAT_MAIN}\n    {FLAT_INDEX}\n    if (i >= T * N) {{ return; }}\n    \
         // Neighbouring invocations take neighbouring outputs of one token.\n    \
         let t = i / N;\n    let n = i % N;\n"
    )
}

/// Entry-point signature of a flat kernel.
pub const FLAT_MAIN: &str = "@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {";

/// The shape of a weight x activation product: x [tokens, input] times w [output, input]^T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearShape {
    pub tokens: usize,
    pub input: usize,
    pub output: usize,
}

impl LinearShape {
    /// Bindings (x, w, the tables if bound, then the epilogue's, then y) and the source every weight kernel starts
    /// with: its shape as constants, the bindings, and the epilogue function.
    /// `tables` are bound after w when they are not baked.
    pub fn header(&self, what: &str, tables: &Tables, ep: &epilogue::Epilogue) -> (Vec<Binding>, String) {
        let mut bindings = vec![Binding::read("x"), Binding::read("w")];
        bindings.extend(tables.binding());
        bindings.extend(ep.bindings());
        bindings.push(Binding::output());
        let src = format!(
            "// {what}\n// y[t, n] = epilogue(sum over k of x[t, k] * w[n, k]), row-major, for\n\
             // T = {} tokens, K = {} inputs, N = {} outputs.\n\
             const T: u32 = {}u;\nconst K: u32 = {}u;\nconst N: u32 = {}u;\n\n{}\n{}\n",
            self.tokens,
            self.input,
            self.output,
            self.tokens,
            self.input,
            self.output,
            declare(&bindings),
            ep.wgsl()
        );
        (bindings, src)
    }

    /// A kernel in `format` whose flat entry point runs one invocation per output element,
    /// token-major (`source` ends with its `y[i] = epilogue(acc, t, n)`), doing `macs`.
    pub fn per_output(
        &self,
        format: WeightFormat,
        macs: usize,
        ep: &epilogue::Epilogue,
        (name, source): (String, String),
        bindings: Vec<Binding>,
        tables: Option<Vec<u32>>,
    ) -> Kernel {
        Kernel {
            name,
            source,
            bindings,
            workgroups: grid_1d(self.tokens * self.output),
            tables,
            class: KernelClass::Linear(format),
            work: work(macs, ep.transcendentals(self.tokens * self.output)),
        }
    }

    /// Multiply-accumulates of a product with `kept` of the weight's entries.
    pub fn macs(&self, kept: usize) -> usize {
        self.tokens * kept
    }
}
