use crate::kernels::Fm;

/// Layer norm over the feature axis of each token (column), vectorised across tokens.
/// `scratch` needs 2 * ld floats.
pub fn layer_norm(x: &[f32], f: Fm, gamma: &[f32], beta: &[f32], eps: f32, y: &mut [f32], scratch: &mut [f32]) {
    let (mean, inv) = scratch[..2 * f.ld].split_at_mut(f.ld);
    mean.fill(0.0);
    inv.fill(0.0);
    for r in 0..f.rows {
        for (m, &v) in mean.iter_mut().zip(&x[r * f.ld..(r + 1) * f.ld]) {
            *m += v;
        }
    }
    let n = f.rows as f32;
    mean.iter_mut().for_each(|m| *m /= n);
    for r in 0..f.rows {
        for ((s, &m), &v) in inv.iter_mut().zip(mean.iter()).zip(&x[r * f.ld..(r + 1) * f.ld]) {
            let d = v - m;
            *s = d.mul_add(d, *s);
        }
    }
    inv.iter_mut().for_each(|s| *s = 1.0 / (*s / n + eps).sqrt());
    for r in 0..f.rows {
        let (g, b) = (gamma[r], beta[r]);
        let row = &x[r * f.ld..(r + 1) * f.ld];
        for (((o, &v), &m), &s) in y[r * f.ld..(r + 1) * f.ld]
            .iter_mut()
            .zip(row)
            .zip(mean.iter())
            .zip(inv.iter())
        {
            *o = ((v - m) * s).mul_add(g, b);
        }
    }
}

pub fn l2_normalize(x: &[f32], y: &mut [f32]) {
    let norm = x.iter().map(|&v| v * v).sum::<f32>().sqrt().max(1e-12);
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v / norm;
    }
}
