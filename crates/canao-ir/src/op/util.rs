//! Small helpers shared by the op families.

use std::str::FromStr;

use crate::dtype::{DType, TensorType};
use crate::graph::ParamSpec;
use crate::op::shape_error::{Expected, Rank, ShapeError};
use crate::op::{Attrs, Params};

/// Bytes read and written for the op's values (f32 everywhere).
pub fn io_bytes(ins: &[&TensorType], out: &TensorType) -> u64 {
    4 * (ins.iter().map(|t| t.elements()).sum::<usize>() + out.elements()) as u64
}

pub fn expect_dtype(t: &TensorType, dtype: DType, what: &'static str) -> Result<(), ShapeError> {
    if t.dtype == dtype {
        Ok(())
    } else {
        Err(ShapeError::DType {
            what,
            expected: dtype,
            got: t.clone(),
        })
    }
}

pub fn expect_f32(t: &TensorType, what: &'static str) -> Result<(), ShapeError> {
    expect_dtype(t, DType::F32, what)
}

pub fn expect_rank(t: &TensorType, rank: usize, what: &'static str) -> Result<(), ShapeError> {
    if t.shape.len() == rank {
        Ok(())
    } else {
        Err(ShapeError::Rank {
            what,
            expected: Rank::Exactly(rank),
            got: t.clone(),
        })
    }
}

/// The last axis of `t`, which must have one.
pub fn last_axis(t: &TensorType, what: &'static str) -> Result<usize, ShapeError> {
    t.shape.last().copied().ok_or_else(|| ShapeError::Rank {
        what,
        expected: Rank::AtLeast(1),
        got: t.clone(),
    })
}

/// A parameter of the wrong shape.
pub fn wrong_shape(p: &ParamSpec, name: &str, expected: Expected) -> ShapeError {
    ShapeError::ParamShape {
        name: name.to_string(),
        got: p.shape.clone(),
        expected,
    }
}

/// Looks a parameter up and checks its shape.
pub fn param_with_shape<'a>(params: &'a Params, name: &str, shape: &[usize]) -> Result<&'a ParamSpec, ShapeError> {
    let p = param(params, name)?;
    if p.shape != shape {
        return Err(wrong_shape(p, name, Expected::Exactly(shape.to_vec())));
    }
    Ok(p)
}

pub fn param<'a>(params: &'a Params, name: &str) -> Result<&'a ParamSpec, ShapeError> {
    params
        .get(name)
        .ok_or_else(|| ShapeError::Undeclared { name: name.to_string() })
}

pub fn attr<T: FromStr>(attrs: &Attrs, key: &str) -> Result<T, String> {
    let raw = attrs.get(key).ok_or_else(|| format!("missing attribute `{key}`"))?;
    raw.parse()
        .map_err(|_| format!("attribute `{key}`: `{raw}` is not valid"))
}

pub fn attr_string(attrs: &Attrs, key: &str) -> Result<String, String> {
    let raw = attrs.get(key).ok_or_else(|| format!("missing attribute `{key}`"))?;
    // The text form keeps a quoted attribute as printed (`{:?}`): undo its escapes.
    let body = raw
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| format!("attribute `{key}` must be a quoted string"))?;
    crate::text::escape::unescape(body).map_err(|e| format!("attribute `{key}`: {e}"))
}

/// The parameter arguments of a text-form op, consumed in order.
pub struct ParamList<'k> {
    kind: &'k str,
    rest: std::vec::IntoIter<String>,
}

impl<'k> ParamList<'k> {
    pub fn new(kind: &'k str, params: Vec<String>) -> Self {
        Self {
            kind,
            rest: params.into_iter(),
        }
    }
    pub fn take(&mut self) -> Result<String, String> {
        self.rest
            .next()
            .ok_or_else(|| format!("`{}` is missing a parameter argument", self.kind))
    }
    pub fn take_optional(&mut self) -> Option<String> {
        self.rest.next()
    }
    pub fn finish(mut self) -> Result<(), String> {
        match self.rest.next() {
            Some(p) => Err(format!("`{}` takes no parameter @{p}", self.kind)),
            None => Ok(()),
        }
    }
}
