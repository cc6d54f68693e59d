use crate::error::{Result, TensorError};

/// A compressed-sparse-row f32 matrix (graph adjacency for GCNs).
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    rows: usize,
    cols: usize,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    values: Vec<f32>,
}

impl Csr {
    /// Validates the three arrays: monotone row pointers, in-range column indices.
    pub fn new(rows: usize, cols: usize, indptr: Vec<usize>, indices: Vec<usize>, values: Vec<f32>) -> Result<Self> {
        if indptr.len() != rows + 1 {
            return Err(TensorError::Csr(format!(
                "indptr has {} entries, expected rows + 1 = {}",
                indptr.len(),
                rows + 1
            )));
        }
        if indptr[0] != 0 || indptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(TensorError::Csr("indptr must start at 0 and never decrease".into()));
        }
        let nnz = indptr[rows];
        if indices.len() != nnz || values.len() != nnz {
            return Err(TensorError::Csr(format!(
                "indptr ends at {nnz} but there are {} indices and {} values",
                indices.len(),
                values.len()
            )));
        }
        if let Some(&c) = indices.iter().find(|&&c| c >= cols) {
            return Err(TensorError::Csr(format!(
                "column index {c} out of range for {cols} columns"
            )));
        }
        Ok(Self {
            rows,
            cols,
            indptr,
            indices,
            values,
        })
    }

    /// Builds from (row, col, value) triplets; duplicates are summed.
    pub fn from_triplets(rows: usize, cols: usize, mut triplets: Vec<(usize, usize, f32)>) -> Result<Self> {
        if let Some(&(r, c, _)) = triplets.iter().find(|&&(r, c, _)| r >= rows || c >= cols) {
            return Err(TensorError::Csr(format!(
                "entry ({r}, {c}) outside a {rows}x{cols} matrix"
            )));
        }
        triplets.sort_by_key(|&(r, c, _)| (r, c));
        let mut indptr = vec![0; rows + 1];
        let mut indices = Vec::with_capacity(triplets.len());
        let mut values: Vec<f32> = Vec::with_capacity(triplets.len());
        let mut last: Option<(usize, usize)> = None;
        for (r, c, v) in triplets {
            if last == Some((r, c)) {
                *values.last_mut().expect("a previous entry exists") += v;
                continue;
            }
            last = Some((r, c));
            indptr[r + 1] += 1;
            indices.push(c);
            values.push(v);
        }
        for r in 0..rows {
            indptr[r + 1] += indptr[r];
        }
        Self::new(rows, cols, indptr, indices, values)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn nnz(&self) -> usize {
        self.values.len()
    }
    /// Column indices and values of one row.
    pub fn row(&self, r: usize) -> (&[usize], &[f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triplets_sum_duplicates_and_sort() {
        let m = Csr::from_triplets(2, 3, vec![(1, 2, 1.0), (0, 1, 2.0), (1, 2, 0.5)]).unwrap();
        assert_eq!(m.nnz(), 2);
        assert_eq!(m.row(0), (&[1usize][..], &[2.0f32][..]));
        assert_eq!(m.row(1), (&[2usize][..], &[1.5f32][..]));
    }

    #[test]
    fn rejects_out_of_range() {
        assert!(Csr::from_triplets(2, 2, vec![(0, 2, 1.0)]).is_err());
        assert!(Csr::new(1, 1, vec![0, 1], vec![3], vec![1.0]).is_err());
    }
}
