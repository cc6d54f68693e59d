//! Named tolerances, so a comparison says what it expects rather than carrying a bare number.

/// f32 fast path against the f64-accumulating interpreter on one kernel.
pub const KERNEL_ABS: f32 = 1e-4;
/// Whole-model outputs (hidden states after several layers) of two f32 implementations.
pub const MODEL_ABS: f32 = 2e-3;
/// Published similarity figures are quoted to three decimals.
pub const PUBLISHED_COSINE: f32 = 5e-3;
/// The f64-accumulating interpreter against an independent f64 reference of the same model.
pub const ORACLE_ABS: f32 = 1e-5;
