//! Sparse node features: per node, the (feature, value) pairs that are non-zero.

/// Row-sparse feature matrix [nodes, dims].
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    dims: usize,
    indptr: Vec<usize>,
    entries: Vec<(usize, f32)>,
}

impl Features {
    /// Binary rows (u8 0/1, row-major), each row scaled to sum 1 as Kipf and Welling do; an
    /// all-zero row stays zero.
    pub fn from_dense_binary(nodes: usize, dims: usize, data: &[u8]) -> Self {
        let mut indptr = vec![0];
        let mut entries = Vec::new();
        for row in data.chunks_exact(dims).take(nodes) {
            let ones: Vec<usize> = (0..dims).filter(|&c| row[c] != 0).collect();
            let scale = 1.0 / ones.len().max(1) as f32;
            entries.extend(ones.into_iter().map(|c| (c, scale)));
            indptr.push(entries.len());
        }
        Self { dims, indptr, entries }
    }

    pub fn nodes(&self) -> usize {
        self.indptr.len() - 1
    }
    pub fn dims(&self) -> usize {
        self.dims
    }
    pub fn nnz(&self) -> usize {
        self.entries.len()
    }
    pub fn row(&self, i: usize) -> &[(usize, f32)] {
        &self.entries[self.indptr[i]..self.indptr[i + 1]]
    }

    /// The dense row-major matrix (for the IR, whose GCN takes dense features).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.nodes() * self.dims];
        for i in 0..self.nodes() {
            for &(c, v) in self.row(i) {
                out[i * self.dims + c] = v;
            }
        }
        out
    }
}
