use canao_ir::Sparsity;
use canao_tensor::Tensor;

use crate::error::CompressError;
use crate::structure::{Rows, Structure};

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
    let tiles = Structure::Block {
        rows: block[0],
        cols: block[1],
    };
    let keep = (((1.0 - sparsity) * tiles.groups([n, k]) as f64).round() as usize).max(1);
    tiles.project(name, [n, k], w.data(), keep, Rows::Any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use canao_ir::BitMask;

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
