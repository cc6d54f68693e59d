use canao_ir::Activation;

use crate::kernels::math;

/// What happens to a weight product before it is stored: y = act(acc + bias[row]) + residual.
#[derive(Debug, Clone, Copy)]
pub struct Epilogue<'a> {
    pub bias: Option<&'a [f32]>,
    pub act: Activation,
    /// Rows of the residual, same layout (and row stride `res_ld`) as the output.
    pub residual: Option<&'a [f32]>,
    pub res_ld: usize,
}

impl Epilogue<'_> {
    pub fn none() -> Self {
        Epilogue {
            bias: None,
            act: Activation::Identity,
            residual: None,
            res_ld: 0,
        }
    }

    /// Applies the epilogue to `acc` (output row `row`, columns from `col`) and stores it.
    #[inline(always)]
    pub fn store(&self, row: usize, col: usize, acc: &[f32], out: &mut [f32]) {
        let b = self.bias.map_or(0.0, |b| b[row]);
        match self.residual {
            Some(r) => {
                let r = &r[row * self.res_ld + col..][..acc.len()];
                for ((o, &a), &r) in out.iter_mut().zip(acc).zip(r) {
                    *o = math::act(self.act, a + b) + r;
                }
            }
            None => {
                for (o, &a) in out.iter_mut().zip(acc) {
                    *o = math::act(self.act, a + b);
                }
            }
        }
    }

    /// The same, with the accumulator already in `out`. One plain loop per (activation,
    /// residual) case, so each vectorises without a branch per element.
    #[inline(always)]
    pub fn apply_in_place(&self, row: usize, col: usize, out: &mut [f32]) {
        let b = self.bias.map_or(0.0, |b| b[row]);
        let res = self.residual.map(|r| &r[row * self.res_ld + col..][..out.len()]);
        match (self.act, res) {
            (Activation::Identity, None) => out.iter_mut().for_each(|o| *o += b),
            (Activation::Identity, Some(r)) => out.iter_mut().zip(r).for_each(|(o, &r)| *o += b + r),
            (Activation::Gelu, None) => out.iter_mut().for_each(|o| *o = math::gelu(*o + b)),
            (Activation::Gelu, Some(r)) => out.iter_mut().zip(r).for_each(|(o, &r)| *o = math::gelu(*o + b) + r),
            (Activation::Relu, None) => out.iter_mut().for_each(|o| *o = (*o + b).max(0.0)),
            (Activation::Relu, Some(r)) => out.iter_mut().zip(r).for_each(|(o, &r)| *o = (*o + b).max(0.0) + r),
        }
    }
}
