use crate::kernels::epilogue::Epilogue;
use crate::kernels::{Fm, block, circulant, dense, pattern, unstructured};
use crate::pack::PackedWeight;

/// Y[0..n, cols] = epilogue(W X) for any packed format; `y` rows have stride `ld`; `scratch`
/// holds at least [`PackedWeight::scratch_len`] floats.
#[allow(clippy::too_many_arguments)]
pub fn apply_weight(
    w: &PackedWeight,
    x: &[f32],
    xf: Fm,
    y: &mut [f32],
    ld: usize,
    ep: &Epilogue<'_>,
    scratch: &mut [f32],
    threads: usize,
) {
    debug_assert_eq!(w.cols(), xf.rows);
    match w {
        PackedWeight::Dense { n, k, w } => dense::dense(w, *n, *k, x, xf, y, ld, ep, threads),
        PackedWeight::Block(p) => block::block_sparse(p, x, xf, y, ld, ep, threads),
        PackedWeight::Unstructured(p) => unstructured::unstructured(p, x, xf, y, ld, ep, threads),
        PackedWeight::Pattern(p) => pattern::pattern_sparse(p, x, xf, y, ld, ep, threads),
        PackedWeight::Circulant(p) => circulant::circulant(p, x, xf, y, ld, ep, scratch, threads),
    }
}
