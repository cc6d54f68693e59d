//! A linear probe: L2-regularised logistic regression on frozen sentence embeddings, the
//! standard way to score what an encoder's embeddings know about a task without fine-tuning.
//! Features are standardised on the training set; training is full-batch Nesterov gradient
//! descent with the step set from the largest curvature, so it is deterministic and needs no
//! tuning per model.

/// Ridge strength (on standardised features).
const L2: f64 = 1e-3;
const ITERATIONS: usize = 300;

/// Test accuracy of a probe trained on (`train_x`, `train_y`).
pub fn probe_accuracy(train_x: &[Vec<f32>], train_y: &[bool], test_x: &[Vec<f32>], test_y: &[bool]) -> f64 {
    assert!(!train_x.is_empty() && train_x.len() == train_y.len() && test_x.len() == test_y.len());
    let d = train_x[0].len();
    let n = train_x.len() as f64;
    let mut mean = vec![0.0f64; d];
    let mut sd = vec![0.0f64; d];
    for x in train_x {
        for (m, &v) in mean.iter_mut().zip(x) {
            *m += v as f64 / n;
        }
    }
    for x in train_x {
        for ((s, &v), m) in sd.iter_mut().zip(x).zip(&mean) {
            *s += (v as f64 - m).powi(2) / n;
        }
    }
    let sd: Vec<f64> = sd.into_iter().map(|v| v.sqrt().max(1e-8)).collect();
    let standardise = |x: &[f32]| -> Vec<f64> {
        let mut z: Vec<f64> = x
            .iter()
            .zip(&mean)
            .zip(&sd)
            .map(|((&v, m), s)| (v as f64 - m) / s)
            .collect();
        z.push(1.0); // bias
        z
    };
    let xs: Vec<Vec<f64>> = train_x.iter().map(|x| standardise(x)).collect();
    let ys: Vec<f64> = train_y.iter().map(|&y| if y { 1.0 } else { 0.0 }).collect();

    let step = 1.0 / (0.25 * largest_eigenvalue(&xs) + L2);
    let mut w = vec![0.0f64; d + 1];
    let mut previous = w.clone();
    for t in 0..ITERATIONS {
        let momentum = t as f64 / (t as f64 + 3.0);
        let look: Vec<f64> = w.iter().zip(&previous).map(|(a, b)| a + momentum * (a - b)).collect();
        let mut grad: Vec<f64> = look.iter().map(|v| L2 * v).collect();
        grad[d] = 0.0; // the bias is not regularised
        for (x, y) in xs.iter().zip(&ys) {
            let p = sigmoid(dot(x, &look));
            for (g, xi) in grad.iter_mut().zip(x) {
                *g += (p - y) * xi / n;
            }
        }
        previous = std::mem::replace(&mut w, look.iter().zip(&grad).map(|(l, g)| l - step * g).collect());
    }
    let correct = test_x
        .iter()
        .zip(test_y)
        .filter(|(x, y)| (dot(&standardise(x), &w) > 0.0) == **y)
        .count();
    correct as f64 / test_x.len().max(1) as f64
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The largest eigenvalue of X^T X / n by power iteration (an upper estimate is all the step
/// size needs; 30 rounds are plenty for that).
fn largest_eigenvalue(xs: &[Vec<f64>]) -> f64 {
    let d = xs[0].len();
    let n = xs.len() as f64;
    let mut v = vec![1.0 / (d as f64).sqrt(); d];
    let mut lambda = 1.0;
    for _ in 0..30 {
        let mut next = vec![0.0; d];
        for x in xs {
            let s = dot(x, &v);
            for (o, xi) in next.iter_mut().zip(x) {
                *o += s * xi / n;
            }
        }
        lambda = dot(&next, &next).sqrt();
        if lambda == 0.0 {
            return 1.0;
        }
        v = next.into_iter().map(|o| o / lambda).collect();
    }
    lambda * 1.05
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn separable_data_is_learned_and_noise_is_not() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut draw = |n: usize| -> (Vec<Vec<f32>>, Vec<bool>) {
            (0..n)
                .map(|_| {
                    let x: Vec<f32> = (0..16).map(|_| rng.random_range(-1.0..1.0)).collect();
                    let y = x[3] - 0.5 * x[7] > 0.1;
                    (x, y)
                })
                .unzip()
        };
        let (tx, ty) = draw(400);
        let (vx, vy) = draw(400);
        assert!(probe_accuracy(&tx, &ty, &vx, &vy) > 0.95);
        // Labels unrelated to the features: a probe cannot beat chance by much.
        let shuffled: Vec<bool> = (0..400).map(|i| i % 2 == 0).collect();
        let acc = probe_accuracy(&tx, &shuffled, &vx, &vy);
        assert!((0.35..0.65).contains(&acc), "{acc}");
    }
}
