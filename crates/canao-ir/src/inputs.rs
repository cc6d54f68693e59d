use std::collections::BTreeMap;

use canao_tensor::Tensor;

use crate::dtype::{DType, TensorType};

/// What is wrong with the inputs given to a prepared graph; every backend checks with
/// [`check_inputs`], so the same mistake reads the same on every backend.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("graph input `{name}` was not given")]
    Missing { name: String },
    #[error("`{name}` is not an input of this graph (inputs: {known})")]
    Unknown { name: String, known: String },
    #[error("graph input `{name}` has shape {got:?}, expected {expected:?}")]
    Shape {
        name: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("graph input `{name}`: {detail}")]
    Value { name: String, detail: String },
}

/// Checks `inputs` against the graph's `declared` inputs (name, type): each present with its
/// shape, finite, integral where the type is i32, and nothing extra.
pub fn check_inputs<'a>(
    declared: impl Iterator<Item = (&'a str, &'a TensorType)> + Clone,
    inputs: &BTreeMap<String, Tensor>,
) -> Result<(), InputError> {
    for (name, ty) in declared.clone() {
        let t = inputs
            .get(name)
            .ok_or_else(|| InputError::Missing { name: name.into() })?;
        if t.shape() != ty.shape {
            return Err(InputError::Shape {
                name: name.into(),
                expected: ty.shape.clone(),
                got: t.shape().to_vec(),
            });
        }
        if let Err(e) = t.check_finite(name) {
            return Err(InputError::Value {
                name: name.into(),
                detail: e.to_string(),
            });
        }
        if ty.dtype == DType::I32 && t.data().iter().any(|v| v.fract() != 0.0) {
            return Err(InputError::Value {
                name: name.into(),
                detail: "i32 input holds a non-integer value".into(),
            });
        }
    }
    if let Some(extra) = inputs.keys().find(|k| !declared.clone().any(|(n, _)| n == k.as_str())) {
        let known: Vec<&str> = declared.map(|(n, _)| n).collect();
        return Err(InputError::Unknown {
            name: extra.clone(),
            known: known.join(", "),
        });
    }
    Ok(())
}
