//! Small helpers shared by the op families.

use std::str::FromStr;

use crate::dtype::{DType, TensorType};
use crate::graph::ParamSpec;
use crate::op::{Attrs, Params};

/// Bytes read and written for the op's values (f32 everywhere).
pub fn io_bytes(ins: &[&TensorType], out: &TensorType) -> u64 {
    4 * (ins.iter().map(|t| t.elements()).sum::<usize>() + out.elements()) as u64
}

pub fn expect_f32(t: &TensorType, what: &str) -> Result<(), String> {
    match t.dtype {
        DType::F32 => Ok(()),
        DType::I32 => Err(format!("{what} must be f32, got {t}")),
    }
}

pub fn expect_rank(t: &TensorType, rank: usize, what: &str) -> Result<(), String> {
    if t.shape.len() == rank {
        Ok(())
    } else {
        Err(format!("{what} must have rank {rank}, got {t}"))
    }
}

/// Looks a parameter up and checks its shape.
pub fn param_with_shape<'a>(params: &'a Params, name: &str, shape: &[usize]) -> Result<&'a ParamSpec, String> {
    let p = params
        .get(name)
        .ok_or_else(|| format!("parameter @{name} is not declared"))?;
    if p.shape != shape {
        return Err(format!(
            "parameter @{name} has shape {:?}, expected {:?}",
            p.shape, shape
        ));
    }
    Ok(p)
}

pub fn param<'a>(params: &'a Params, name: &str) -> Result<&'a ParamSpec, String> {
    params
        .get(name)
        .ok_or_else(|| format!("parameter @{name} is not declared"))
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
