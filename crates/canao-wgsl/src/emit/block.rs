//! Block-sparse weight x activation. The block mask is baked into the shader: for each block
//! row, the block columns it keeps (`row_start`, `cols`, as in CSR over blocks; a bound buffer
//! instead when the mask is too large to bake, see [`crate::emit::BAKE_LIMIT`]). Only kept
//! blocks are stored, each as a full `BR x BC` row-major tile (edge tiles zero-padded), in block
//! order, so the buffer holds exactly what is computed with.
//!
//! Blocks whose sides are multiples of 16 (16x16, 32x32, ...) get the dense kernel's tiling: a
//! 16 x 16 workgroup computes 16 tokens x 16 outputs of one block row, staging 16-wide slices of
//! x and of each kept block in workgroup memory, so each value loaded is used 16 times. Other
//! block shapes compute one output per invocation.

use canao_ir::{BitMask, KernelClass, WeightFormat};

use crate::emit::dense::{TILE, accumulate_slice, tile_memory};
use crate::emit::epilogue::Epilogue;
use crate::emit::{Kernel, LinearShape, Tables, per_output_main, work};

/// The kept blocks of a [N, K] weight under a block mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockLayout {
    pub block: [usize; 2],
    /// Block b of block row r is in `row_start[r]..row_start[r + 1]`.
    pub row_start: Vec<u32>,
    /// Block column of each kept block.
    pub cols: Vec<u32>,
}

impl BlockLayout {
    /// From a mask over the row-major grid of ceil(N / BR) x ceil(K / BC) blocks.
    pub fn new(shape: [usize; 2], block: [usize; 2], mask: &BitMask) -> Self {
        let gc = shape[1].div_ceil(block[1]);
        let mut row_start = vec![0u32];
        let mut cols = Vec::new();
        for row in mask.0.chunks(gc) {
            cols.extend(row.iter().enumerate().filter(|(_, k)| **k).map(|(c, _)| c as u32));
            row_start.push(cols.len() as u32);
        }
        Self { block, row_start, cols }
    }

    /// Weights of [N, K] `shape` inside kept blocks (edge blocks clipped).
    pub fn kept(&self, shape: [usize; 2]) -> usize {
        let [br, bc] = self.block;
        let rows = |r: usize| br.min(shape[0].saturating_sub(r * br));
        let cols = |c: u32| bc.min(shape[1].saturating_sub(c as usize * bc));
        self.row_start
            .windows(2)
            .enumerate()
            .map(|(r, span)| {
                rows(r)
                    * self.cols[span[0] as usize..span[1] as usize]
                        .iter()
                        .map(|&c| cols(c))
                        .sum::<usize>()
            })
            .sum()
    }

    /// The kept blocks of dense row-major `w` [N, K], in the order the kernel reads them.
    pub fn pack(&self, shape: [usize; 2], w: &[f32]) -> Vec<f32> {
        let [br, bc] = self.block;
        let mut out = Vec::with_capacity(self.cols.len() * br * bc);
        for (r, span) in self.row_start.windows(2).enumerate() {
            for &c in &self.cols[span[0] as usize..span[1] as usize] {
                for i in 0..br {
                    for j in 0..bc {
                        let (n, k) = (r * br + i, c as usize * bc + j);
                        out.push(if n < shape[0] && k < shape[1] {
                            w[n * shape[1] + k]
                        } else {
                            0.0
                        });
                    }
                }
            }
        }
        out
    }
}

pub fn emit(shape: LinearShape, layout: &BlockLayout, ep: &Epilogue) -> Kernel {
    let [br, bc] = layout.block;
    let tiled = br % TILE as usize == 0 && bc % TILE as usize == 0;
    let mut tables = Tables::default();
    tables.add("row_start", layout.row_start.clone());
    tables.add("cols", layout.cols.clone());
    let (bindings, mut source) = shape.header(
        &format!(
            "block-sparse weight, {br}x{bc} blocks, {} of {} kept (mask baked in)",
            layout.cols.len(),
            (layout.row_start.len() - 1) * shape.input.div_ceil(bc)
        ),
        &tables,
        ep,
    );
    source.push_str(&format!(
        "const BR: u32 = {br}u;\nconst BC: u32 = {bc}u;\n\n\
         // Block row r keeps blocks row_start(r)..row_start(r + 1); block b lies in block\n\
         // column cols(b) and is stored at w[b * BR * BC ..] as a BR x BC row-major tile.\n"
    ));
    source.push_str(&tables.wgsl());
    if tiled {
        source.push_str(&tiled_main());
        return Kernel {
            name: format!("linear_block_{br}x{bc}_tiled{}", ep.suffix()),
            source,
            bindings,
            // Sizes fit u32: lowering refuses larger values.
            workgroups: [
                (shape.output as u32).div_ceil(TILE),
                (shape.tokens as u32).div_ceil(TILE),
                1,
            ],
            tables: tables.data(),
            class: KernelClass::Linear(WeightFormat::Block(None)),
            work: work(
                shape.macs(layout.kept([shape.output, shape.input])),
                ep.transcendentals(shape.tokens * shape.output),
            ),
        };
    }
    source.push_str(&per_output_main());
    source.push_str(
        "    let r = n / BR;
    var acc = 0.0;
    for (var b = row_start(r); b < row_start(r + 1u); b++) {
        let k0 = cols(b) * BC;
        let wrow = (b * BR + n % BR) * BC;
        let width = min(BC, K - k0);
        for (var j = 0u; j < width; j++) {
            acc += x[t * K + k0 + j] * w[wrow + j];
        }
    }
    y[i] = epilogue(acc, t, n);
}
",
    );
    shape.per_output(
        WeightFormat::Block(None),
        shape.macs(layout.kept([shape.output, shape.input])),
        ep,
        (format!("linear_block_{br}x{bc}{}", ep.suffix()), source),
        bindings,
        tables.data(),
    )
}

/// The tiled entry point (blocks of whole 16 x 16 tiles): every invocation of a workgroup is in
/// the same block row, so the loop over its kept blocks, and the barriers in it, are uniform.
fn tiled_main() -> String {
    format!(
        "
{}
@compute @workgroup_size({TILE}, {TILE})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {{
    let n0 = wg.x * TILE;
    let n = n0 + l.x;
    let t = wg.y * TILE + l.y;
    let r = n0 / BR;
    // The row of each kept block this invocation stages (outputs run along l.y while loading).
    let wrow = n0 % BR + l.y;
    var acc = 0.0;
    for (var b = row_start(r); b < row_start(r + 1u); b++) {{
        for (var s = 0u; s < BC; s += TILE) {{
            let k = cols(b) * BC + s + l.x;
            var xv = 0.0;
            if (t < T && k < K) {{ xv = x[t * K + k]; }}
            xs[l.y][l.x] = xv;
            // Packed tiles are zero-padded past the matrix's edges: no bounds to test.
            ws[l.y][l.x] = w[(b * BR + wrow) * BC + s + l.x];
{}        }}
    }}
    if (t < T && n < N) {{
        y[t * N + n] = epilogue(acc, t, n);
    }}
}}
",
        tile_memory(),
        accumulate_slice(12)
    )
}
