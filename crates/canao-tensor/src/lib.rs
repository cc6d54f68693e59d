//! Plain data: dense tensors, CSR matrices, safetensors I/O and named tolerances.

mod csr;
mod error;
mod safetensors_io;
mod tensor;
pub mod tolerance;

pub use csr::Csr;
pub use error::{Result, TensorError};
pub use safetensors_io::{SafetensorsFile, TensorInfo, write_safetensors};
pub use tensor::Tensor;
