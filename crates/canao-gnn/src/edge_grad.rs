//! The gradient of a loss with respect to an undirected edge weight w_uv, through the
//! normalisation A_hat = D^-1/2 (W + I) D^-1/2 (d_i = 1 + sum_j w_ij):
//!
//! dL/dw_uv = (G_uv + G_vu) / sqrt(d_u d_v) + g_u + g_v,
//! g_k = dL/dd_k = -1/(2 d_k) sum_j A_hat_kj (G_kj + G_jk)   (j over row k, self loop included),
//!
//! with G = dL/dA_hat from the backward pass. It holds for absent pairs (w = 0) too, which is
//! what lets an attack score every candidate flip without a dense n x n matrix.

use rayon::prelude::{IntoParallelIterator, ParallelIterator};

use crate::adjacency::Adjacency;
use crate::gcn::AdjGrad;

#[derive(Debug, Clone)]
pub struct EdgeGrad {
    g: AdjGrad,
    inv_sqrt_degree: Vec<f32>,
    degree_grad: Vec<f32>,
}

impl EdgeGrad {
    pub fn new(adj: &Adjacency, g: AdjGrad) -> Self {
        let n = adj.nodes();
        let degree_grad = (0..n)
            .into_par_iter()
            .map(|k| {
                let (idx, val) = adj.row(k);
                let s: f32 = idx
                    .iter()
                    .zip(val)
                    .map(|(&j, &a)| a * (g.entry(k, j) + g.entry(j, k)))
                    .sum();
                -s / (2.0 * adj.degree(k))
            })
            .collect();
        let inv_sqrt_degree = (0..n).map(|k| adj.degree(k).sqrt().recip()).collect();
        Self {
            g,
            inv_sqrt_degree,
            degree_grad,
        }
    }

    /// dL/dw_uv for u != v.
    pub fn pair(&self, u: usize, v: usize) -> f32 {
        (self.g.entry(u, v) + self.g.entry(v, u)) * self.inv_sqrt_degree[u] * self.inv_sqrt_degree[v]
            + self.degree_grad[u]
            + self.degree_grad[v]
    }
}
