/// Heights a strip of rows is processed at; each has its own register-tiled kernel.
pub const STRIP_HEIGHTS: [usize; 3] = [8, 4, 1];

/// A run of `rows` consecutive output rows sharing the kept blocks `blocks` (a range into
/// `BlockPacked::cols`); its values start at `vals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strip {
    pub row0: usize,
    pub rows: usize,
    pub blocks: (usize, usize),
    pub vals: usize,
}

/// Block-sparse weights. A block row of height r is cut into strips of 8, 4 and 1 rows (the
/// register tile heights); each strip lists its kept blocks as (first column, width) and stores,
/// per block and per column, its rows' weights contiguously, so the kernel broadcasts them
/// against one loaded run of tokens.
#[derive(Debug, Clone)]
pub struct BlockPacked {
    pub n: usize,
    pub k: usize,
    pub block: [usize; 2],
    pub strips: Vec<Strip>,
    /// (first column, width) of each run of adjacent kept blocks, per strip.
    pub cols: Vec<(u32, u32)>,
    pub vals: Vec<f32>,
}

impl BlockPacked {
    pub fn new(n: usize, k: usize, block: [usize; 2], mask: &[bool], w: &[f32]) -> Self {
        let [r, c] = block;
        let gc = k.div_ceil(c);
        let mut p = Self {
            n,
            k,
            block,
            strips: Vec::new(),
            cols: Vec::new(),
            vals: Vec::new(),
        };
        for bi in 0..n.div_ceil(r) {
            // Adjacent kept blocks form one run of columns: the kernel's loop over a run is
            // the same as over a block, and fewer, longer runs cost less loop overhead.
            let mut kept: Vec<(u32, u32)> = Vec::new();
            for bj in (0..gc).filter(|&bj| mask[bi * gc + bj]) {
                let (c0, cw) = ((bj * c) as u32, c.min(k - bj * c) as u32);
                match kept.last_mut() {
                    Some((p0, pw)) if *p0 + *pw == c0 => *pw += cw,
                    _ => kept.push((c0, cw)),
                }
            }
            let (mut row, end) = (bi * r, (bi * r + r).min(n));
            while row < end {
                let h = *STRIP_HEIGHTS
                    .iter()
                    .find(|&&h| h <= end - row)
                    .expect("height 1 always fits");
                let start = p.cols.len();
                p.strips.push(Strip {
                    row0: row,
                    rows: h,
                    blocks: (start, start + kept.len()),
                    vals: p.vals.len(),
                });
                for &(c0, cw) in &kept {
                    p.cols.push((c0, cw));
                    for kk in c0..c0 + cw {
                        for i in row..row + h {
                            p.vals.push(w[i * k + kk as usize]);
                        }
                    }
                }
                row += h;
            }
        }
        p
    }

    pub fn packed_bytes(&self) -> usize {
        4 * self.vals.len() + 8 * self.cols.len() + std::mem::size_of::<Strip>() * self.strips.len()
    }

    /// Stored non-zero weights.
    pub fn nnz(&self) -> usize {
        self.vals.len()
    }
}
