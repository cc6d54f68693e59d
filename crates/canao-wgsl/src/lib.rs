//! The GPU code generator. [`lower`] turns an IR graph and its weights into a [`Plan`]: a list
//! of WGSL compute kernels ([`emit`]), each specialised to its shapes and to its weight's
//! sparsity, with the buffers they bind. Emission needs no GPU; the `wgpu` feature adds
//! [`WgpuRuntime`], which runs a plan through wgpu as the `Runtime`/`Executable` seam asks. A
//! plan reports each dispatch's work in the IR's schema ([`Plan::work`]), as the CPU's does.

pub mod emit;
mod error;
mod lower;
#[cfg(feature = "wgpu")]
mod runtime;
mod work;

pub use error::{Result, WgslError};
pub use lower::{Arg, Data, IdCheck, Plan, Step, lower};
#[cfg(feature = "wgpu")]
pub use runtime::{StepTime, WgpuExe, WgpuRuntime};
