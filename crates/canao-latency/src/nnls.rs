//! Non-negative least squares (Lawson and Hanson's active-set method): minimise ||A x - b||
//! subject to x >= 0. Coefficients of a latency model are costs, so a negative one (a kernel that
//! gets faster with more work) is not allowed to fit noise.

/// Solves for `x >= 0` with rows of `a` (each `cols` long) against `b`. Columns that are all zero
/// get 0. Small problems only (a handful of columns): each step solves the normal equations of
/// the free columns directly.
pub fn nnls(a: &[Vec<f64>], b: &[f64], cols: usize) -> Vec<f64> {
    let mut x = vec![0.0; cols];
    let mut free = vec![false; cols];
    let tol = 1e-10 * scale(a, b);
    for _ in 0..3 * cols + 10 {
        let w = gradient(a, b, &x, cols);
        // The most promising bound column, if any would lower the residual.
        let Some(j) = (0..cols)
            .filter(|&j| !free[j] && w[j] > tol)
            .max_by(|&i, &j| w[i].total_cmp(&w[j]))
        else {
            break;
        };
        free[j] = true;
        loop {
            let z = solve_free(a, b, &free, cols);
            if (0..cols).filter(|&j| free[j]).all(|j| z[j] > 0.0) {
                x = z;
                break;
            }
            // Step from x towards z until the first free coefficient reaches zero; bind it.
            let alpha = (0..cols)
                .filter(|&j| free[j] && z[j] <= 0.0)
                .map(|j| x[j] / (x[j] - z[j]))
                .fold(f64::INFINITY, f64::min);
            for j in 0..cols {
                x[j] += alpha * (z[j] - x[j]);
                if free[j] && x[j] <= tol {
                    free[j] = false;
                    x[j] = 0.0;
                }
            }
            if !free.iter().any(|&f| f) {
                break;
            }
        }
    }
    x
}

fn scale(a: &[Vec<f64>], b: &[f64]) -> f64 {
    let amax = a.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let bmax = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (amax * bmax).max(f64::MIN_POSITIVE)
}

/// A^T (b - A x).
fn gradient(a: &[Vec<f64>], b: &[f64], x: &[f64], cols: usize) -> Vec<f64> {
    let mut w = vec![0.0; cols];
    for (row, &bi) in a.iter().zip(b) {
        let r = bi - row.iter().zip(x).map(|(p, q)| p * q).sum::<f64>();
        for (wj, &aj) in w.iter_mut().zip(row) {
            *wj += aj * r;
        }
    }
    w
}

/// Unconstrained least squares over the free columns (others fixed at 0), by Gaussian
/// elimination with partial pivoting on the normal equations; columns are scaled to unit norm
/// first because features differ by many orders of magnitude (calls vs multiply-accumulates).
fn solve_free(a: &[Vec<f64>], b: &[f64], free: &[bool], cols: usize) -> Vec<f64> {
    let idx: Vec<usize> = (0..cols).filter(|&j| free[j]).collect();
    let n = idx.len();
    let norm: Vec<f64> = idx
        .iter()
        .map(|&j| a.iter().map(|r| r[j] * r[j]).sum::<f64>().sqrt().max(f64::MIN_POSITIVE))
        .collect();
    let mut m = vec![vec![0.0; n + 1]; n];
    for (row, &bi) in a.iter().zip(b) {
        for p in 0..n {
            let ap = row[idx[p]] / norm[p];
            for q in 0..n {
                m[p][q] += ap * row[idx[q]] / norm[q];
            }
            m[p][n] += ap * bi;
        }
    }
    // A tiny ridge keeps collinear features (e.g. two counts that move together) solvable.
    for (p, r) in m.iter_mut().enumerate() {
        r[p] += 1e-12;
    }
    for c in 0..n {
        let piv = (c..n)
            .max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))
            .expect("c < n");
        m.swap(c, piv);
        let pivot = m[c].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot[c];
                for (x, p) in row[c..].iter_mut().zip(&pivot[c..]) {
                    *x -= f * p;
                }
            }
        }
    }
    let mut z = vec![0.0; cols];
    for p in 0..n {
        z[idx[p]] = m[p][n] / m[p][p] / norm[p];
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_non_negative_coefficients() {
        // b = 3 + 0.5 x1 + 0 x2, on a spread of points.
        let a: Vec<Vec<f64>> = (0..20).map(|i| vec![1.0, i as f64, ((i * 7) % 5) as f64]).collect();
        let b: Vec<f64> = a.iter().map(|r| 3.0 + 0.5 * r[1]).collect();
        let x = nnls(&a, &b, 3);
        assert!(
            (x[0] - 3.0).abs() < 1e-8 && (x[1] - 0.5).abs() < 1e-8 && x[2].abs() < 1e-8,
            "{x:?}"
        );
    }

    #[test]
    fn clamps_what_least_squares_would_make_negative() {
        // b = 10 - x1: unconstrained LS gives a negative slope; NNLS must give slope 0 and the
        // best constant, the mean of b.
        let a: Vec<Vec<f64>> = (0..10).map(|i| vec![1.0, i as f64]).collect();
        let b: Vec<f64> = (0..10).map(|i| 10.0 - i as f64).collect();
        let x = nnls(&a, &b, 2);
        assert_eq!(x[1], 0.0);
        assert!((x[0] - 5.5).abs() < 1e-8, "{x:?}");
    }

    #[test]
    fn zero_columns_get_zero() {
        let a: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64, 0.0]).collect();
        let b: Vec<f64> = (0..5).map(|i| 2.0 * i as f64).collect();
        let x = nnls(&a, &b, 2);
        assert!((x[0] - 2.0).abs() < 1e-9 && x[1] == 0.0, "{x:?}");
    }
}
