//! Gradient leakage: SAPAG against DLG (`ALGORITHMS.md` §7). A client shares the gradient of
//! LeNet-5 on one private image; the attacker, who knows the model, searches for an image whose
//! gradient matches it. DLG matches with the squared Euclidean distance, SAPAG with a per-layer
//! Gaussian kernel. The victim is written by hand over the scalar type (`victim`), so the
//! matching distance is differentiated exactly with dual numbers.

pub mod distance;
pub mod invert;
pub mod ops;
pub mod quality;
pub mod train;
pub mod victim;

pub use distance::{Attack, Target};
pub use invert::{Inversion, Optimiser, Reconstruction, invert};
pub use ops::Act;
pub use quality::{Quality, quality};
pub use train::VictimTraining;
pub use victim::{Dims, Init, Net};
