use crate::kernels::epilogue::Epilogue;
use crate::kernels::{Cx, Fm, block, circulant, dense, pattern, unstructured};
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
    cx: Cx,
) {
    debug_assert_eq!(w.cols(), xf.rows);
    match w {
        PackedWeight::Dense { n, k, w } => dense::dense(w, *n, *k, x, xf, y, ld, ep, cx),
        PackedWeight::Block(p) => block::block_sparse(p, x, xf, y, ld, ep, cx),
        PackedWeight::Unstructured(p) => unstructured::unstructured(p, x, xf, y, ld, ep, cx),
        PackedWeight::Pattern(p) => pattern::pattern_sparse(p, x, xf, y, ld, ep, cx),
        PackedWeight::Circulant(p) => circulant::circulant(p, x, xf, y, ld, ep, scratch, cx),
    }
}
