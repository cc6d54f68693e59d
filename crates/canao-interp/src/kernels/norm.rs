use canao_tensor::Tensor;

/// Normalises each row of the last axis to mean 0, variance 1 (biased, as BERT does), then
/// scales and shifts.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f32) -> Tensor {
    let d = gamma.len();
    let mut out = x.clone();
    for row in out.data_mut().chunks_mut(d) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
        let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / d as f64;
        let inv = 1.0 / (var + f64::from(eps)).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma.data()).zip(beta.data()) {
            *v = ((f64::from(*v) - mean) * inv * f64::from(*g) + f64::from(*b)) as f32;
        }
    }
    out
}

/// Softmax over the last axis. With a key mask, keys whose mask is 0 get probability 0; a row
/// whose keys are all masked is all zeros (nothing to attend to) rather than NaN.
pub fn softmax(x: &Tensor, mask: Option<&Tensor>) -> Tensor {
    let d = *x.shape().last().expect("rank >= 1");
    let keep = |j: usize| mask.is_none_or(|m| m.data()[j] != 0.0);
    let mut out = x.clone();
    for row in out.data_mut().chunks_mut(d) {
        let max = (0..d)
            .filter(|&j| keep(j))
            .map(|j| f64::from(row[j]))
            .fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = (0..d)
            .map(|j| if keep(j) { (f64::from(row[j]) - max).exp() } else { 0.0 })
            .collect();
        let sum: f64 = exps.iter().sum();
        for (v, e) in row.iter_mut().zip(&exps) {
            *v = if sum > 0.0 { (e / sum) as f32 } else { 0.0 };
        }
    }
    out
}

/// Divides each row of the last axis by its L2 norm (at least 1e-12, as PyTorch's normalize).
pub fn l2_normalize(x: &Tensor) -> Tensor {
    let d = *x.shape().last().expect("rank >= 1");
    let mut out = x.clone();
    for row in out.data_mut().chunks_mut(d) {
        let norm = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt().max(1e-12);
        for v in row.iter_mut() {
            *v = (f64::from(*v) / norm) as f32;
        }
    }
    out
}
