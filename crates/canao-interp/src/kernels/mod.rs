//! Plain-loop kernels, one family a file. Shapes were checked by the IR before they run.

mod attention;
mod conv;
mod dense;
mod layout;
mod norm;

pub use attention::attention;
pub use conv::{conv2d, pool, spmm};
pub use dense::{activate, add, bias_add, linear, matmul};
pub use layout::{embedding, masked_mean, merge_heads, split_heads};
pub use norm::{l2_normalize, layer_norm, softmax};
