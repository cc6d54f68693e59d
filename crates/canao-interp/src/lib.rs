//! The reference interpreter: obviously right rather than fast. Every reduction accumulates in
//! f64; sparse parameters run as their dense projection (the definition of their meaning).

mod error;
mod exec;
mod kernels;
pub mod random;

pub use error::{InterpError, Result};
pub use exec::{Interpreter, InterpreterExe};
