/// Kept weights a row should have per chunk: with fewer, the per-segment cost (loop set-up and
/// exit, loading and storing the row's output tile) outweighs the work.
const TERMS_PER_SEGMENT: f64 = 12.0;

/// Columns per chunk, by density: 64 unless that leaves fewer than [`TERMS_PER_SEGMENT`] terms
/// per row, then up to 256. At the kernel's 128-token tile, 64 columns are 32 KiB of
/// activations, which stay in a 48 KiB L1 while every output row takes its share. Measured on
/// this project's Xeon (`canao bench kernels --quick`, 384 x 384): 32 columns lost 10 to 25 % at
/// every density, 128 or more lost about 40 % at d = 1, and at d = 0.1 lengths 64 to 256 were
/// within noise of each other.
pub fn chunk_for(density: f64) -> usize {
    let ideal = TERMS_PER_SEGMENT / density.max(1e-3);
    (ideal as usize).next_power_of_two().clamp(64, 256)
}

/// Output rows per row block. Within a block and chunk the kernel runs the rows' segments
/// shortest first, so its loop over a segment's terms ends after the same count many times in a
/// row and the branch predictor learns the exit, rather than missing it on every segment; threads
/// take whole blocks.
pub const ROW_BLOCK: usize = 64;

/// One output row's kept weights in one chunk: `vals[start..end]` (and their columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub row: u32,
    pub start: u32,
    pub end: u32,
}

/// Weights whose blocks are one row high (1 x c, unstructured at 1 x 1): no two output rows
/// share a loaded token run, so the kernel instead shares the activation's cache-resident
/// chunks between rows. Each kept weight is stored with its column, row by row in column order;
/// each row is cut at every `chunk` columns ([`chunk_for`] its density) into segments, and the
/// non-empty segments are grouped by (chunk, row block), shortest first within a group.
#[derive(Debug, Clone)]
pub struct UnstructuredPacked {
    // All private, so the invariants the kernel's unchecked accesses rely on hold as packed:
    // every column is below `k`, and every segment of group (c, b) is a row of block b.
    n: usize,
    k: usize,
    chunk: usize,
    cols: Vec<u32>,
    vals: Vec<f32>,
    segments: Vec<Segment>,
    /// Group (c, b) is `segments[groups[c * blocks + b]..groups[c * blocks + b + 1]]`.
    groups: Vec<u32>,
}

impl UnstructuredPacked {
    /// Packs the kept blocks of `mask` (a row-major grid of `block`-sized blocks) of the
    /// row-major [n, k] weight `w`; `block[0]` must be 1.
    pub fn new(n: usize, k: usize, block: [usize; 2], mask: &[bool], w: &[f32]) -> Self {
        assert_eq!(block[0], 1, "unstructured packing takes blocks one row high");
        let c = block[1];
        let gc = k.div_ceil(c);
        let kept = mask.iter().filter(|&&m| m).count();
        let chunk = chunk_for(kept as f64 / mask.len().max(1) as f64);
        let chunks = k.div_ceil(chunk).max(1);
        let (mut cols, mut vals) = (Vec::new(), Vec::new());
        // Row r's terms in chunk c start at bounds[r * chunks + c].
        let mut bounds = Vec::with_capacity(n * chunks + 1);
        for row in 0..n {
            for ci in 0..chunks {
                bounds.push(vals.len() as u32);
                for col in (ci * chunk..((ci + 1) * chunk).min(k)).filter(|&col| mask[row * gc + col / c]) {
                    cols.push(col as u32);
                    vals.push(w[row * k + col]);
                }
            }
        }
        bounds.push(vals.len() as u32);
        let (mut segments, mut groups) = (Vec::new(), vec![0u32]);
        for ci in 0..chunks {
            for b0 in (0..n).step_by(ROW_BLOCK) {
                let first = segments.len();
                for row in b0..(b0 + ROW_BLOCK).min(n) {
                    let (start, end) = (bounds[row * chunks + ci], bounds[row * chunks + ci + 1]);
                    if start < end {
                        segments.push(Segment {
                            row: row as u32,
                            start,
                            end,
                        });
                    }
                }
                segments[first..].sort_by_key(|s| s.end - s.start);
                groups.push(segments.len() as u32);
            }
        }
        Self {
            n,
            k,
            chunk,
            cols,
            vals,
            segments,
            groups,
        }
    }

    /// Output rows.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Input columns.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Chunks a row is cut into.
    #[inline(always)]
    pub fn chunks(&self) -> usize {
        self.k.div_ceil(self.chunk).max(1)
    }

    /// Row blocks of [`ROW_BLOCK`] output rows.
    #[inline(always)]
    pub fn row_blocks(&self) -> usize {
        self.n.div_ceil(ROW_BLOCK)
    }

    /// The non-empty segments of rows of block `block` in chunk `chunk`, shortest first.
    #[inline(always)]
    pub fn group(&self, chunk: usize, block: usize) -> &[Segment] {
        let i = chunk * self.row_blocks() + block;
        &self.segments[self.groups[i] as usize..self.groups[i + 1] as usize]
    }

    /// A segment's (columns, weights).
    #[inline(always)]
    pub fn terms(&self, s: &Segment) -> (&[u32], &[f32]) {
        let r = s.start as usize..s.end as usize;
        (&self.cols[r.clone()], &self.vals[r])
    }

    /// Non-empty (row, chunk) segments: the kernel's loop set-ups per token tile.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    pub fn packed_bytes(&self) -> usize {
        4 * (self.vals.len() + self.cols.len() + self.groups.len()) + std::mem::size_of_val(&self.segments[..])
    }

    /// Stored non-zero weights.
    pub fn nnz(&self) -> usize {
        self.vals.len()
    }
}
