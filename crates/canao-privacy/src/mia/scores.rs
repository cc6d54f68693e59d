//! Membership scores from a model's outputs on an example (higher means "member"): the
//! loss-threshold attack (Yeom et al.), the confidence-threshold attack, and offline LiRA
//! (Carlini et al., 2022), which compares the target's confidence with the confidences of
//! reference models that never trained on the example.

/// Softmax probability of the true class, from logits.
pub fn true_class_probability(logits: &[f32], label: usize) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&z| f64::from(z - max).exp()).sum();
    f64::from(logits[label] - max).exp() / sum
}

/// Loss threshold: the negated cross-entropy of the true class.
pub fn loss_score(logits: &[f32], label: usize) -> f64 {
    true_class_probability(logits, label).max(f64::MIN_POSITIVE).ln()
}

/// Confidence threshold: the largest softmax probability, whatever the class.
pub fn confidence_score(logits: &[f32]) -> f64 {
    let top = (0..logits.len())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .unwrap_or(0);
    true_class_probability(logits, top)
}

/// LiRA's scaled confidence: the logit of the true-class probability, computed from the
/// logits so it stays finite where the probability rounds to 1 (z_y minus the log-sum-exp of
/// the other classes).
pub fn scaled_confidence(logits: &[f32], label: usize) -> f64 {
    let others: Vec<f64> = logits
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != label)
        .map(|(_, &z)| f64::from(z))
        .collect();
    let max = others.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = max + others.iter().map(|z| (z - max).exp()).sum::<f64>().ln();
    f64::from(logits[label]) - lse
}

/// Offline LiRA. `target[i]` is the target model's scaled confidence on example i;
/// `reference[r][i]` reference model r's, and `trained_on[r][i]` whether r trained on i. Each
/// example's score is how far the target's confidence sits above the Gaussian of the
/// references that did not train on it, in standard deviations (the paper's one-sided test
/// ranks examples the same way; the z-score keeps the upper tail, where members sit, from
/// rounding to a tie). The variance is pooled
/// over all examples (the paper's fixed-variance variant, recommended with few references);
/// an example no reference left out gets the pooled mean.
pub fn lira_offline(target: &[f64], reference: &[Vec<f64>], trained_on: &[Vec<bool>]) -> Vec<f64> {
    let n = target.len();
    let mut means = vec![f64::NAN; n];
    let (mut sq, mut count) = (0.0, 0usize);
    for i in 0..n {
        let out: Vec<f64> = reference
            .iter()
            .zip(trained_on)
            .filter(|(_, t)| !t[i])
            .map(|(r, _)| r[i])
            .collect();
        if out.is_empty() {
            continue;
        }
        let mean = out.iter().sum::<f64>() / out.len() as f64;
        sq += out.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
        count += out.len() - 1;
        means[i] = mean;
    }
    let sd = (sq / count.max(1) as f64).sqrt().max(1e-6);
    let known: Vec<f64> = means.iter().copied().filter(|m| m.is_finite()).collect();
    let pooled = known.iter().sum::<f64>() / known.len().max(1) as f64;
    target
        .iter()
        .zip(&means)
        .map(|(t, m)| (t - if m.is_finite() { *m } else { pooled }) / sd)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_from_logits() {
        let logits = [2.0f32, 0.0, 0.0];
        let p = (2.0f64).exp() / ((2.0f64).exp() + 2.0);
        assert!((true_class_probability(&logits, 0) - p).abs() < 1e-12);
        assert!((loss_score(&logits, 0) - p.ln()).abs() < 1e-12);
        assert!((confidence_score(&logits) - p).abs() < 1e-12);
        assert!((scaled_confidence(&logits, 0) - (p / (1.0 - p)).ln()).abs() < 1e-9);
        // Far past where the probability rounds to 1, the scaled confidence stays finite.
        assert!((scaled_confidence(&[100.0, 0.0], 0) - 100.0).abs() < 1e-9);
    }
}
