//! Softmax cross-entropy over a set of nodes, and accuracy.

/// Mean cross-entropy of `nodes` (each with a label) and its gradient with respect to all
/// logits [nodes_total, classes] (zero rows for the nodes outside the set).
pub fn cross_entropy(z: &[f32], classes: usize, nodes: &[usize], labels: &[usize]) -> (f32, Vec<f32>) {
    let mut dz = vec![0.0; z.len()];
    let mut loss = 0.0f64;
    let scale = 1.0 / nodes.len().max(1) as f32;
    for (&i, &y) in nodes.iter().zip(labels) {
        let row = &z[i * classes..(i + 1) * classes];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
        loss += f64::from(sum.ln() + max - row[y]);
        for (k, g) in dz[i * classes..(i + 1) * classes].iter_mut().enumerate() {
            let p = (row[k] - max).exp() / sum;
            *g = (p - if k == y { 1.0 } else { 0.0 }) * scale;
        }
    }
    ((loss / nodes.len().max(1) as f64) as f32, dz)
}

/// The arg-max class of each node.
pub fn predictions(z: &[f32], classes: usize) -> Vec<usize> {
    z.chunks_exact(classes)
        .map(|row| (0..classes).fold(0, |best, k| if row[k] > row[best] { k } else { best }))
        .collect()
}

/// Share of `nodes` whose arg-max logit is their label.
pub fn accuracy(z: &[f32], classes: usize, nodes: &[usize], labels: &[usize]) -> f64 {
    let pred = predictions(z, classes);
    let right = nodes.iter().zip(labels).filter(|&(&i, &y)| pred[i] == y).count();
    right as f64 / nodes.len().max(1) as f64
}
