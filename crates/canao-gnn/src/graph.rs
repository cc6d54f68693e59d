//! A simple undirected graph: edges as ordered pairs u < v, no self loops, no duplicates.
//! Perturbations flip pairs (add the absent, remove the present).

use std::collections::BTreeSet;

use crate::error::{GnnError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    nodes: usize,
    edges: BTreeSet<(usize, usize)>,
}

/// The ordered form (min, max) of an unordered pair.
pub fn pair(u: usize, v: usize) -> (usize, usize) {
    (u.min(v), u.max(v))
}

impl Graph {
    /// Pairs in either order; a self loop, an out-of-range node or a repeated pair is an error.
    pub fn new(nodes: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Result<Self> {
        let mut set = BTreeSet::new();
        for (u, v) in edges {
            check_pair(nodes, u, v)?;
            if !set.insert(pair(u, v)) {
                return Err(GnnError::Shape(format!("edge ({u}, {v}) appears twice")));
            }
        }
        Ok(Self { nodes, edges: set })
    }

    pub fn nodes(&self) -> usize {
        self.nodes
    }
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }
    pub fn has_edge(&self, u: usize, v: usize) -> bool {
        self.edges.contains(&pair(u, v))
    }
    /// Edges as (u, v) with u < v, in increasing order.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.edges.iter().copied()
    }

    /// The graph with each pair flipped; the pairs must be distinct, in range and not loops.
    pub fn flipped(&self, flips: &[(usize, usize)]) -> Result<Self> {
        let mut out = self.clone();
        let mut seen = BTreeSet::new();
        for &(u, v) in flips {
            check_pair(self.nodes, u, v)?;
            let p = pair(u, v);
            if !seen.insert(p) {
                return Err(GnnError::Shape(format!("pair ({u}, {v}) is flipped twice")));
            }
            if !out.edges.remove(&p) {
                out.edges.insert(p);
            }
        }
        Ok(out)
    }

    /// Number of pairs u < v: the size of the perturbation space.
    pub fn pair_count(&self) -> u64 {
        let n = self.nodes as u64;
        n * n.saturating_sub(1) / 2
    }
}

fn check_pair(nodes: usize, u: usize, v: usize) -> Result<()> {
    if u >= nodes || v >= nodes {
        return Err(GnnError::Shape(format!("pair ({u}, {v}) is outside nodes 0..{nodes}")));
    }
    if u == v {
        return Err(GnnError::Shape(format!("pair ({u}, {v}) is a self loop")));
    }
    Ok(())
}

/// Index of pair (u, v), u < v, in the row-major order of the strict upper triangle, and back.
/// Lets a perturbation space of n(n-1)/2 pairs be sampled without materialising it.
pub fn pair_index(n: usize, u: usize, v: usize) -> u64 {
    let (u, v, n) = (u as u64, v as u64, n as u64);
    u * (2 * n - u - 1) / 2 + (v - u - 1)
}

pub fn pair_at(n: usize, k: u64) -> (usize, usize) {
    let nn = n as u64;
    // Row u starts at u(2n - u - 1)/2; solve the quadratic, then fix rounding either way.
    let disc = ((2 * nn - 1) * (2 * nn - 1)) as f64 - 8.0 * k as f64;
    let mut u = (((2 * nn - 1) as f64 - disc.max(0.0).sqrt()) / 2.0).floor() as u64;
    let start = |u: u64| u * (2 * nn - u - 1) / 2;
    while u > 0 && start(u) > k {
        u -= 1;
    }
    while u + 1 < nn && start(u + 1) <= k {
        u += 1;
    }
    (u as usize, (k - start(u) + u + 1) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_index_round_trips() {
        for n in [2, 3, 7, 50] {
            let mut k = 0;
            for u in 0..n {
                for v in u + 1..n {
                    assert_eq!(pair_index(n, u, v), k);
                    assert_eq!(pair_at(n, k), (u, v));
                    k += 1;
                }
            }
        }
        let n = 19_717;
        let last = (n as u64) * (n as u64 - 1) / 2 - 1;
        assert_eq!(pair_at(n, last), (n - 2, n - 1));
        assert_eq!(pair_index(n, 12_345, 19_000), pair_index(n, 12_345, 19_000));
        assert_eq!(pair_at(n, pair_index(n, 12_345, 19_000)), (12_345, 19_000));
    }

    #[test]
    fn flips_add_and_remove() {
        let g = Graph::new(4, [(0, 1), (2, 1)]).unwrap();
        let h = g.flipped(&[(1, 0), (0, 3)]).unwrap();
        assert_eq!(h.edges().collect::<Vec<_>>(), vec![(0, 3), (1, 2)]);
        assert!(g.flipped(&[(0, 3), (3, 0)]).is_err());
        assert!(g.flipped(&[(2, 2)]).is_err());
        assert!(Graph::new(3, [(0, 5)]).is_err());
    }
}
