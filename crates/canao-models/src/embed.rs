use canao_tensor::Tensor;

/// Sentence embeddings of several texts, with the hidden states they came from.
#[derive(Debug, Clone)]
pub struct Embeddings {
    /// One unit-length vector per text.
    pub vectors: Vec<Vec<f32>>,
    /// Last hidden state [tokens, width] per text.
    pub hidden: Vec<Tensor>,
    /// Tokens per text, special tokens included.
    pub tokens: Vec<usize>,
    /// Wall time of each text's forward pass (preparation excluded), in milliseconds.
    pub ms: Vec<f64>,
}

impl Embeddings {
    pub fn similarity(&self) -> Vec<Vec<f32>> {
        cosine_matrix(&self.vectors)
    }
}

/// Pairwise cosine similarity, accumulated in f64.
pub fn cosine_matrix(vectors: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let norm = |v: &[f32]| v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt().max(1e-12);
    vectors
        .iter()
        .map(|a| {
            vectors
                .iter()
                .map(|b| {
                    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
                    (dot / (norm(a) * norm(b))) as f32
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_by_hand() {
        let m = cosine_matrix(&[vec![1.0, 0.0], vec![1.0, 1.0], vec![0.0, -2.0]]);
        assert!((m[0][1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!((m[0][2]).abs() < 1e-6);
        assert!((m[1][2] + std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!((m[2][2] - 1.0).abs() < 1e-6);
    }
}
