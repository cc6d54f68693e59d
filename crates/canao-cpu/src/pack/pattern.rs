use std::collections::BTreeMap;

use canao_ir::BitMask;

/// The most rows one piece holds: its accumulators (rows x token vectors) must stay in registers
/// (6 x 4 vectors on AVX-512 and NEON, 6 x 2 on AVX2).
pub const PIECE_ROWS: usize = 6;

/// One column of a pattern and up to [`PIECE_ROWS`] of the block rows that keep it. Every block
/// of a group shares the piece, so one load of the activation row `c0 + col` feeds an FMA per
/// row: the rows of a pattern share register tiles although each keeps different columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub col: u16,
    /// Rows within the block, ascending.
    pub rows: Vec<u16>,
}

/// A pattern as the kernel runs it: its kept cells as pieces, column by column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub pieces: Vec<Piece>,
    /// Kept cells (the weights each block of this program stores).
    pub cells: usize,
}

/// The blocks of one block row that take the same program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub program: usize,
    /// Range into `block_cols`.
    pub blocks: (usize, usize),
    /// Where the group's weights start in `vals`.
    pub vals: usize,
}

/// Pattern-sparse weights (RT3). A block row's blocks are grouped by pattern, and a pattern runs
/// as pieces (a column and the rows that keep it), so the kernel walks one piece over every
/// block of its group with one accumulator per row. Blocks clipped by the matrix's edge get
/// their own (clipped) program.
///
/// `vals` order: per block row, per group, per piece, per block of the group, the piece's rows.
#[derive(Debug, Clone)]
pub struct PatternPacked {
    pub n: usize,
    pub k: usize,
    pub block: [usize; 2],
    pub programs: Vec<Program>,
    /// Per block row, its groups.
    pub groups: Vec<Vec<Group>>,
    /// First column of each block, grouped as `groups` says.
    pub block_cols: Vec<u32>,
    pub vals: Vec<f32>,
}

/// Splits a column's kept rows into pieces of at most [`PIECE_ROWS`], as even as they go (so
/// 7 rows run as 4 + 3, not 6 + 1).
fn pieces_of(col: u16, rows: &[u16]) -> impl Iterator<Item = Piece> + '_ {
    let parts = rows.len().div_ceil(PIECE_ROWS);
    (0..parts).map(move |i| Piece {
        col,
        rows: rows[i * rows.len() / parts..(i + 1) * rows.len() / parts].to_vec(),
    })
}

/// The program of `pattern` (r x c cells) clipped to `height` x `width`.
fn program(pattern: &BitMask, [_, c]: [usize; 2], height: usize, width: usize) -> Program {
    let bits = &pattern.0;
    let mut pieces = Vec::new();
    let mut cells = 0;
    for j in 0..width {
        let rows: Vec<u16> = (0..height).filter(|&i| bits[i * c + j]).map(|i| i as u16).collect();
        cells += rows.len();
        pieces.extend(pieces_of(j as u16, &rows));
    }
    Program { pieces, cells }
}

impl PatternPacked {
    /// Packs `w` ([n, k], row-major) keeping the cells of each block's assigned pattern.
    pub fn new(n: usize, k: usize, block: [usize; 2], patterns: &[BitMask], assign: &[u16], w: &[f32]) -> Self {
        let [r, c] = block;
        let gc = k.div_ceil(c);
        let mut programs = Vec::new();
        let mut index: BTreeMap<(u16, usize, usize), usize> = BTreeMap::new();
        let mut groups = Vec::new();
        let mut block_cols = Vec::new();
        let mut vals = Vec::new();
        for bi in 0..n.div_ceil(r) {
            let height = r.min(n - bi * r);
            let mut by_program: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
            for bj in 0..gc {
                let (p, width) = (assign[bi * gc + bj], c.min(k - bj * c));
                let id = *index.entry((p, height, width)).or_insert_with(|| {
                    programs.push(program(&patterns[usize::from(p)], block, height, width));
                    programs.len() - 1
                });
                by_program.entry(id).or_default().push((bj * c) as u32);
            }
            let mut row_groups = Vec::new();
            for (id, cols) in by_program {
                let group = Group {
                    program: id,
                    blocks: (block_cols.len(), block_cols.len() + cols.len()),
                    vals: vals.len(),
                };
                for piece in &programs[id].pieces {
                    for &c0 in &cols {
                        let col = c0 as usize + usize::from(piece.col);
                        vals.extend(piece.rows.iter().map(|&i| w[(bi * r + usize::from(i)) * k + col]));
                    }
                }
                block_cols.extend(cols);
                row_groups.push(group);
            }
            groups.push(row_groups);
        }
        Self {
            n,
            k,
            block,
            programs,
            groups,
            block_cols,
            vals,
        }
    }

    /// The blocks of a group.
    pub fn blocks(&self, g: &Group) -> &[u32] {
        &self.block_cols[g.blocks.0..g.blocks.1]
    }

    /// Pieces run per block row and token tile, summed over block rows (each is one pass over
    /// its group's blocks).
    pub fn piece_runs(&self) -> usize {
        self.groups
            .iter()
            .flatten()
            .map(|g| self.programs[g.program].pieces.len())
            .sum()
    }

    pub fn packed_bytes(&self) -> usize {
        let prog: usize = self
            .programs
            .iter()
            .flat_map(|p| &p.pieces)
            .map(|p| 2 + 2 * p.rows.len())
            .sum();
        let groups: usize = self.groups.iter().map(Vec::len).sum();
        4 * self.vals.len() + 4 * self.block_cols.len() + 24 * groups + prog
    }
}
