use canao_ir::BitMask;

/// Pattern-sparse weights (RT3). Blocks of a block row are grouped by pattern, so the kernel
/// walks one pattern's column offsets for a whole group of blocks: the inner loop is specialised
/// to the pattern, not decided per weight. Edge blocks clipped by the matrix get their own
/// (clipped) pattern entry.
#[derive(Debug, Clone)]
pub struct PatternPacked {
    pub n: usize,
    pub k: usize,
    pub block: [usize; 2],
    /// Per effective pattern, per row within a block: kept column offsets.
    pub programs: Vec<Vec<Vec<u16>>>,
    /// Per block row: (pattern program, range into `block_cols`).
    pub groups: Vec<Vec<(usize, (usize, usize))>>,
    /// First column of each block, grouped as `groups` says.
    pub block_cols: Vec<u32>,
    /// Per output row, where its values start.
    pub row_vals: Vec<usize>,
    pub vals: Vec<f32>,
}

impl PatternPacked {
    pub fn new(n: usize, k: usize, block: [usize; 2], patterns: &[BitMask], assign: &[u16], w: &[f32]) -> Self {
        let [r, c] = block;
        let gc = k.div_ceil(c);
        let mut programs: Vec<Vec<Vec<u16>>> = Vec::new();
        let mut index: std::collections::BTreeMap<(u16, usize), usize> = Default::default();
        let mut program_of = |p: u16, width: usize| -> usize {
            *index.entry((p, width)).or_insert_with(|| {
                let bits = &patterns[usize::from(p)].0;
                programs.push(
                    (0..r)
                        .map(|i| (0..width).filter(|&j| bits[i * c + j]).map(|j| j as u16).collect())
                        .collect(),
                );
                programs.len() - 1
            })
        };
        let mut groups = Vec::new();
        let mut block_cols = Vec::new();
        for bi in 0..n.div_ceil(r) {
            let mut by_prog: std::collections::BTreeMap<usize, Vec<u32>> = Default::default();
            for bj in 0..gc {
                let prog = program_of(assign[bi * gc + bj], c.min(k - bj * c));
                by_prog.entry(prog).or_default().push((bj * c) as u32);
            }
            let mut row_groups = Vec::new();
            for (prog, cols) in by_prog {
                let start = block_cols.len();
                block_cols.extend(cols);
                row_groups.push((prog, (start, block_cols.len())));
            }
            groups.push(row_groups);
        }
        let mut row_vals = Vec::with_capacity(n);
        let mut vals = Vec::new();
        for row in 0..n {
            row_vals.push(vals.len());
            for &(prog, (a, b)) in &groups[row / r] {
                for &c0 in &block_cols[a..b] {
                    for &o in &programs[prog][row % r] {
                        vals.push(w[row * k + c0 as usize + usize::from(o)]);
                    }
                }
            }
        }
        Self {
            n,
            k,
            block,
            programs,
            groups,
            block_cols,
            row_vals,
            vals,
        }
    }

    pub fn packed_bytes(&self) -> usize {
        let prog: usize = self.programs.iter().flatten().map(|r| 2 * r.len()).sum();
        4 * self.vals.len() + 4 * self.block_cols.len() + 8 * self.row_vals.len() + prog
    }
}
