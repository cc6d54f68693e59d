//! The symmetric-normalised adjacency A_hat = D^-1/2 (W + I) D^-1/2 of a graph with edge weights
//! W (1 for an edge; a relaxed perturbation makes them fractional), as a CSR matrix with the self
//! loops included, and its product with a dense row-major matrix.

use rayon::prelude::{IndexedParallelIterator, ParallelIterator, ParallelSliceMut};

use crate::graph::Graph;

#[derive(Debug, Clone, PartialEq)]
pub struct Adjacency {
    indptr: Vec<usize>,
    indices: Vec<usize>,
    /// Normalised entries A_hat[i][j].
    values: Vec<f32>,
    /// d_i = 1 + sum_j w_ij.
    degree: Vec<f32>,
}

/// Rows at or above which a product runs on rayon's threads.
const PARALLEL_ROWS: usize = 4096;

impl Adjacency {
    pub fn new(graph: &Graph) -> Self {
        Self::weighted(graph.nodes(), graph.edges().map(|(u, v)| (u, v, 1.0)))
    }

    /// Undirected weighted pairs (u, v, w), u != v, each pair at most once; zero weights are
    /// left out of the matrix (they still have a gradient, see `crate::gcn::AdjGrad`).
    pub fn weighted(nodes: usize, pairs: impl IntoIterator<Item = (usize, usize, f32)>) -> Self {
        let mut rows: Vec<Vec<(usize, f32)>> = (0..nodes).map(|i| vec![(i, 1.0)]).collect();
        for (u, v, w) in pairs {
            if w != 0.0 {
                rows[u].push((v, w));
                rows[v].push((u, w));
            }
        }
        let degree: Vec<f32> = rows.iter().map(|r| r.iter().map(|&(_, w)| w).sum()).collect();
        let mut indptr = Vec::with_capacity(nodes + 1);
        indptr.push(0);
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        for (i, row) in rows.iter_mut().enumerate() {
            row.sort_unstable_by_key(|&(j, _)| j);
            for &(j, w) in row.iter() {
                indices.push(j);
                values.push(w / (degree[i] * degree[j]).sqrt());
            }
            indptr.push(indices.len());
        }
        Self {
            indptr,
            indices,
            values,
            degree,
        }
    }

    pub fn nodes(&self) -> usize {
        self.degree.len()
    }
    pub fn nnz(&self) -> usize {
        self.values.len()
    }
    pub fn degree(&self, i: usize) -> f32 {
        self.degree[i]
    }
    /// Column indices and normalised values of row i (self loop included).
    pub fn row(&self, i: usize) -> (&[usize], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// A_hat X for X row-major [nodes, cols]. A_hat is symmetric, so this is also A_hat^T X.
    pub fn spmm(&self, x: &[f32], cols: usize) -> Vec<f32> {
        let mut out = vec![0.0; self.nodes() * cols];
        let row = |(i, o): (usize, &mut [f32])| {
            let (idx, val) = self.row(i);
            for (&j, &a) in idx.iter().zip(val) {
                for (o, &xv) in o.iter_mut().zip(&x[j * cols..(j + 1) * cols]) {
                    *o += a * xv;
                }
            }
        };
        if self.nodes() >= PARALLEL_ROWS {
            out.par_chunks_mut(cols).enumerate().for_each(row);
        } else {
            out.chunks_mut(cols).enumerate().for_each(row);
        }
        out
    }

    /// The matrix as canao's CSR tensor (the IR's `adj` parameter).
    pub fn to_csr(&self) -> canao_tensor::Csr {
        let n = self.nodes();
        canao_tensor::Csr::new(n, n, self.indptr.clone(), self.indices.clone(), self.values.clone())
            .expect("rows are built sorted and in range")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Path 0 - 1 - 2: degrees with self loops 2, 3, 2.
    #[test]
    fn normalises_a_path() {
        let g = Graph::new(3, [(0, 1), (1, 2)]).unwrap();
        let a = Adjacency::new(&g);
        assert_eq!(a.row(1).0, &[0, 1, 2]);
        let expect = [1.0 / 6f32.sqrt(), 1.0 / 3.0, 1.0 / 6f32.sqrt()];
        for (v, e) in a.row(1).1.iter().zip(expect) {
            assert!((v - e).abs() < 1e-6, "{v} vs {e}");
        }
        assert!((a.row(0).1[0] - 0.5).abs() < 1e-6);
        // A_hat times ones: row sums.
        let y = a.spmm(&[1.0, 1.0, 1.0], 1);
        assert!((y[0] - (0.5 + 1.0 / 6f32.sqrt())).abs() < 1e-6);
    }
}
