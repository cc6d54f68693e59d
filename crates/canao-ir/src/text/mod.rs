//! The text form of a graph: printed by `Display`, read back by [`parse_graph`].
//!
//! ```text
//! graph "tiny" {
//!   param @fc.w : f32[4,3]
//!   param @fc.b : f32[4]
//!   %0 = input() {name="x"} : f32[2,3]
//!   %1 = linear(%0, @fc.w, @fc.b) {act=gelu} : f32[2,4]
//!   output %1
//! }
//! ```

pub(crate) mod escape;
mod parse;
mod print;

pub use parse::parse_graph;
