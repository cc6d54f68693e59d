//! Why shape inference refuses a node: one variant per kind of mismatch, carrying the types,
//! parameters and sizes involved, so a caller (a search that builds thousands of candidates, a
//! rewrite, the text parser) can tell the cases apart without reading prose. The graph wraps it
//! in `IrError::Shape` with the node it was inferring.

use std::fmt;

use crate::dtype::{DType, TensorType};

/// The rank an operand must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    Exactly(usize),
    /// A matrix or a batch of matrices.
    TwoOrThree,
    AtLeast(usize),
}

impl fmt::Display for Rank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rank::Exactly(r) => write!(f, "{r}"),
            Rank::TwoOrThree => f.write_str("2 or 3"),
            Rank::AtLeast(r) => write!(f, ">= {r}"),
        }
    }
}

/// The axis on which operands that must agree do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Rank,
    Batch,
    Shape,
    /// The contracted width of queries and keys.
    Width,
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Axis::Rank => "rank",
            Axis::Batch => "batch",
            Axis::Shape => "shape",
            Axis::Width => "width",
        })
    }
}

/// The shape a parameter must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Exactly(Vec<usize>),
    /// A linear weight [out, in] for an input whose last axis is `in`.
    LinearWeight {
        input: TensorType,
    },
    /// A conv weight [out, in, kh, kw] for an input [N, in, H, W].
    ConvWeight {
        input: TensorType,
    },
    /// An embedding table [vocab, dim].
    Table,
    /// A graph adjacency [n, m] for node features [m, f].
    Adjacency {
        input: TensorType,
    },
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let axis = |t: &TensorType, i: usize| t.shape.get(i).map_or("?".to_string(), usize::to_string);
        match self {
            Expected::Exactly(s) => write!(f, "{s:?}"),
            Expected::LinearWeight { input } => {
                let k = input.shape.last().map_or("?".to_string(), usize::to_string);
                write!(f, "[out, {k}] for input {input}")
            }
            Expected::ConvWeight { input } => write!(f, "[out, {}, kh, kw] for input {input}", axis(input, 1)),
            Expected::Table => f.write_str("[vocab, dim]"),
            Expected::Adjacency { input } => write!(f, "[n, {}] for input {input}", axis(input, 0)),
        }
    }
}

/// What a shape-inference check found wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeError {
    #[error("takes {expected} inputs, got {got}")]
    Arity { expected: usize, got: usize },
    #[error("{what} must be {}, got {got}", .expected.name())]
    DType {
        what: &'static str,
        expected: DType,
        got: TensorType,
    },
    #[error("{what} must have rank {expected}, got {got}")]
    Rank {
        what: &'static str,
        expected: Rank,
        got: TensorType,
    },
    #[error("{op} operands differ in {axis}: {}", list(.operands))]
    Differ {
        op: &'static str,
        axis: Axis,
        operands: Vec<TensorType>,
    },
    #[error("matmul operands do not fit: {a} x {b}{}", if *.transposed { "^T" } else { "" })]
    Product {
        a: TensorType,
        b: TensorType,
        transposed: bool,
    },
    #[error("values {values} do not have one row per key of {keys}")]
    ValuesPerKey { values: TensorType, keys: TensorType },
    #[error("parameter @{name} is not declared")]
    Undeclared { name: String },
    #[error("parameter @{name} has shape {got:?}, expected {expected}")]
    ParamShape {
        name: String,
        got: Vec<usize>,
        expected: Expected,
    },
    #[error("adjacency @{name} must be declared csr(nnz=N), not {sparsity}")]
    NotCsr { name: String, sparsity: &'static str },
    #[error("{} not split into {heads} heads", widths_text(.widths))]
    Heads { widths: Vec<usize>, heads: usize },
    #[error("a {}x{} window does not fit input {input}{}", .window[0], .window[1], padding_text(*.padding))]
    Window {
        window: [usize; 2],
        input: TensorType,
        padding: usize,
    },
    #[error("mask {mask} does not have one entry per {per} of {of}")]
    Mask {
        mask: TensorType,
        per: &'static str,
        of: TensorType,
    },
    #[error("residual {residual} does not match the output {output}")]
    Residual { residual: TensorType, output: TensorType },
    #[error("input type {0} has an empty dimension")]
    EmptyDimension(TensorType),
    #[error("{0} must be positive")]
    NotPositive(&'static str),
    #[error("shape {0:?} has more than 2^32 elements")]
    TooLarge(Vec<usize>),
    #[error("rewrite changes the type from {from} to {to}")]
    Changed { from: TensorType, to: TensorType },
    #[error("annotated {annotated} but inferred {inferred}")]
    Annotated {
        annotated: TensorType,
        inferred: TensorType,
    },
    #[error("contains a cycle")]
    Cycle,
}

/// Two operands as "a and b", more as "a, b, c".
fn list(operands: &[TensorType]) -> String {
    let names: Vec<String> = operands.iter().map(TensorType::to_string).collect();
    match names.as_slice() {
        [a, b] => format!("{a} and {b}"),
        _ => names.join(", "),
    }
}

fn widths_text(widths: &[usize]) -> String {
    match widths {
        [w] => format!("width {w} does"),
        _ => {
            let w: Vec<String> = widths.iter().map(usize::to_string).collect();
            format!("widths {} do", w.join(" and "))
        }
    }
}

fn padding_text(padding: usize) -> String {
    if padding == 0 {
        String::new()
    } else {
        format!(" with padding {padding}")
    }
}

pub type InferResult = std::result::Result<TensorType, ShapeError>;
