//! Pattern-sparse weight x activation (RT3's pattern pruning): every BR x BC tile of the weight
//! takes one of a few patterns. Both the patterns and the per-tile assignment are baked into the
//! shader (bound as a buffer when too large, see [`crate::emit::BAKE_LIMIT`]), so the inner
//! loop visits exactly the kept positions. The weight buffer is the dense
//! projected matrix, read only where a pattern keeps a value.

use canao_ir::{BitMask, WeightFormat};

use crate::emit::epilogue::Epilogue;
use crate::emit::{Kernel, LinearShape, Tables, per_output_main};

/// Patterns as per-row lists of kept columns, and the tile assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternLayout {
    pub block: [usize; 2],
    /// Row r of pattern p keeps columns `cols[start[p * BR + r]..start[p * BR + r + 1]]`.
    pub start: Vec<u32>,
    pub cols: Vec<u32>,
    /// Pattern of each tile, row-major over the grid.
    pub assign: Vec<u32>,
}

impl PatternLayout {
    /// Weights of [N, K] `shape` that the tiles' patterns keep (edge tiles clipped).
    pub fn kept(&self, shape: [usize; 2]) -> usize {
        let [br, bc] = self.block;
        let gc = shape[1].div_ceil(bc);
        let mut kept = 0;
        for (t, &p) in self.assign.iter().enumerate() {
            let (r, c) = (t / gc, t % gc);
            for i in (0..br).take_while(|i| r * br + i < shape[0]) {
                let row = p as usize * br + i;
                let cols = &self.cols[self.start[row] as usize..self.start[row + 1] as usize];
                kept += cols.iter().filter(|&&j| c * bc + (j as usize) < shape[1]).count();
            }
        }
        kept
    }

    pub fn new(block: [usize; 2], patterns: &[BitMask], assign: &[u16]) -> Self {
        let mut start = vec![0u32];
        let mut cols = Vec::new();
        for p in patterns {
            for row in p.0.chunks(block[1]) {
                cols.extend(row.iter().enumerate().filter(|(_, k)| **k).map(|(c, _)| c as u32));
                start.push(cols.len() as u32);
            }
        }
        Self {
            block,
            start,
            cols,
            assign: assign.iter().map(|&a| u32::from(a)).collect(),
        }
    }
}

pub fn emit(shape: LinearShape, layout: &PatternLayout, ep: &Epilogue) -> Kernel {
    let [br, bc] = layout.block;
    let patterns = (layout.start.len() - 1) / br;
    let mut tables = Tables::default();
    tables.add("pat_start", layout.start.clone());
    tables.add("pat_cols", layout.cols.clone());
    tables.add("assign", layout.assign.clone());
    let (bindings, mut source) = shape.header(
        &format!("pattern-sparse weight, {br}x{bc} tiles, {patterns} patterns"),
        &tables,
        ep,
    );
    source.push_str(&format!(
        "const BR: u32 = {br}u;\nconst BC: u32 = {bc}u;\nconst GC: u32 = {}u; // tiles per row\n\n\
         // Tile (r, c) of the grid takes pattern assign(r * GC + c); row i of pattern p keeps\n\
         // tile columns pat_cols(j) for j in pat_start(p * BR + i)..pat_start(p * BR + i + 1).\n",
        shape.input.div_ceil(bc)
    ));
    source.push_str(&tables.wgsl());
    source.push_str(&per_output_main());
    source.push_str(
        "    let r = n / BR;
    var acc = 0.0;
    for (var c = 0u; c < GC; c++) {
        let row = assign(r * GC + c) * BR + n % BR;
        for (var j = pat_start(row); j < pat_start(row + 1u); j++) {
            let k = c * BC + pat_cols(j);
            if (k < K) {
                acc += x[t * K + k] * w[n * K + k];
            }
        }
    }
    y[i] = epilogue(acc, t, n);
}
",
    );
    shape.per_output(
        WeightFormat::Pattern,
        shape.macs(layout.kept([shape.output, shape.input])),
        ep,
        (format!("linear_pattern_{br}x{bc}{}", ep.suffix()), source),
        bindings,
        tables.data(),
    )
}
