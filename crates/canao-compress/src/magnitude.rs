use canao_ir::{BitMask, Sparsity};
use canao_tensor::Tensor;

#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    #[error("sparsity {0} is outside [0, 1)")]
    Sparsity(f64),
    #[error("block {0}x{1} must have positive sides")]
    Block(usize, usize),
    #[error("weight `{name}` must be a matrix, got shape {shape:?}")]
    Shape { name: String, shape: Vec<usize> },
}

/// One-shot block magnitude pruning: tiles the (out x in) matrix into `block` tiles and keeps the
/// round((1 - sparsity) * tiles) tiles of largest L2 norm (at least one), ties broken by
/// position so the result is deterministic. No training: this is the baseline structure that
/// lets speed be measured before the compression methods' trained masks exist.
pub fn block_magnitude(name: &str, w: &Tensor, block: [usize; 2], sparsity: f64) -> Result<Sparsity, CompressError> {
    if !(0.0..1.0).contains(&sparsity) {
        return Err(CompressError::Sparsity(sparsity));
    }
    if block[0] == 0 || block[1] == 0 {
        return Err(CompressError::Block(block[0], block[1]));
    }
    let &[n, k] = w.shape() else {
        return Err(CompressError::Shape {
            name: name.into(),
            shape: w.shape().to_vec(),
        });
    };
    let (gr, gc) = (n.div_ceil(block[0]), k.div_ceil(block[1]));
    let mut norms = vec![0.0f64; gr * gc];
    for (r, row) in w.data().chunks(k).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            norms[(r / block[0]) * gc + c / block[1]] += f64::from(v) * f64::from(v);
        }
    }
    let keep = (((1.0 - sparsity) * (gr * gc) as f64).round() as usize).max(1);
    let mut order: Vec<usize> = (0..gr * gc).collect();
    order.sort_by(|&a, &b| norms[b].total_cmp(&norms[a]).then(a.cmp(&b)));
    let mut mask = vec![false; gr * gc];
    for &i in &order[..keep] {
        mask[i] = true;
    }
    Ok(Sparsity::Block {
        block,
        mask: BitMask(mask),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_largest_blocks() {
        // 4x4 in 2x2 tiles with norms growing tile by tile: keep the top half, tiles 2 and 3.
        let data: Vec<f32> = (0..16).map(|i| ((i / 8) * 2 + (i % 4) / 2) as f32).collect();
        let w = Tensor::new(vec![4, 4], data).unwrap();
        let s = block_magnitude("w", &w, [2, 2], 0.5).unwrap();
        assert_eq!(
            s,
            Sparsity::Block {
                block: [2, 2],
                mask: BitMask(vec![false, false, true, true])
            }
        );
        assert!(block_magnitude("w", &w, [2, 2], 1.0).is_err());
        assert!(
            block_magnitude("w", &Tensor::zeros(vec![4]), [2, 2], 0.5)
                .unwrap_err()
                .to_string()
                .contains("`w`")
        );
    }
}
