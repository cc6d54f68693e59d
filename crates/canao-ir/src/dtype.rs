use std::fmt;

use serde::{Deserialize, Serialize};

/// Element type of a value. Integer values (token ids) are carried as exact f32 by backends;
/// the IR keeps the distinction so an id input cannot be fed to a linear layer by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DType {
    F32,
    I32,
}

impl DType {
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I32 => "i32",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "f32" => Some(DType::F32),
            "i32" => Some(DType::I32),
            _ => None,
        }
    }
}

/// The type of a value flowing along an edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl TensorType {
    pub fn f32(shape: Vec<usize>) -> Self {
        Self {
            dtype: DType::F32,
            shape,
        }
    }

    pub fn i32(shape: Vec<usize>) -> Self {
        Self {
            dtype: DType::I32,
            shape,
        }
    }

    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The most elements one tensor of a graph may have: 2^32 (16 GiB of f32), beyond any model canao
/// runs. Bounding every value and parameter keeps element counts, byte counts and FLOPs (a
/// product of two such bounds) inside u64, so costs cannot wrap for any architecture.
pub const MAX_ELEMENTS: usize = 1 << 32;

/// Refuses a shape with more than [`MAX_ELEMENTS`] elements (or whose product overflows).
pub fn check_elements(shape: &[usize]) -> Result<(), crate::op::ShapeError> {
    let n = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS);
    match n {
        Some(_) => Ok(()),
        None => Err(crate::op::ShapeError::TooLarge(shape.to_vec())),
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        write!(f, "{}[{}]", self.dtype.name(), dims.join(","))
    }
}
