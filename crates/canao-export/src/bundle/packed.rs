//! Compressed storage of structured-sparse weights in a bundle's safetensors file: only the
//! values the structure keeps, plus the structure itself as small integer tensors. Loading
//! rebuilds the dense weight (zeros where the structure drops) and its `Sparsity`; the CPU
//! backend then packs it into its kernels' layout at prepare time, as for any model.
//!
//! Per parameter `P` of matrix shape [n, k] tiled by [r, c] (a grid of g = ceil(n/r) x
//! ceil(k/c) tiles, row-major, edge tiles clipped to the matrix):
//! - dense: `P`, f32, its shape;
//! - block: `P.blocks`, u32 [kept], the kept tiles' indices, increasing; `P.values`, f32, each
//!   kept tile's values row by row, tile after tile;
//! - pattern: `P.patterns`, u8 [patterns, r*c] (0/1); `P.assign`, u16 [g], each tile's pattern;
//!   `P.values`, f32, each tile's kept entries row by row, tile after tile;
//! - circulant (tiles b x b): `P.vectors`, f32 [g, b], entry d the value on wrapped diagonal
//!   (row - col) mod b of the tile (0 for a diagonal the clipped tile does not reach).

use std::collections::BTreeMap;

use canao_ir::{BitMask, Sparsity};
use canao_tensor::Tensor;
use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

use crate::error::{ExportError, Result};

/// How a parameter is stored; sparse kinds carry the tile shape the tensors do not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stored {
    Block { block: [usize; 2] },
    Pattern { block: [usize; 2] },
    Circulant { block: usize },
}

/// A tensor ready for safetensors: dtype, shape, little-endian bytes.
#[derive(Debug, Clone)]
pub struct Raw {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

pub fn raw_f32(shape: Vec<usize>, v: &[f32]) -> Raw {
    Raw {
        dtype: Dtype::F32,
        shape,
        bytes: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// The tiles of an [n, k] matrix: (row range, column range) in row-major grid order.
fn tiles(n: usize, k: usize, [r, c]: [usize; 2]) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let (gr, gc) = (n.div_ceil(r), k.div_ceil(c));
    (0..gr * gc)
        .map(|t| {
            let (i, j) = (t / gc, t % gc);
            (i * r..(i * r + r).min(n), j * c..(j * c + c).min(k))
        })
        .collect()
}

/// Stores the 2-D weight `w` under `sparsity`: `None` for dense (store `w` as it is).
pub fn pack(name: &str, w: &Tensor, sparsity: &Sparsity) -> Result<Option<(Stored, BTreeMap<String, Raw>)>> {
    let shape = w.shape();
    let data = w.data();
    let mut out = BTreeMap::new();
    let stored = match sparsity {
        Sparsity::Dense => return Ok(None),
        Sparsity::Block { block, mask } => {
            let (n, k) = (shape[0], shape[1]);
            let mut kept = Vec::new();
            let mut values = Vec::new();
            for (t, (rows, cols)) in tiles(n, k, *block).into_iter().enumerate() {
                if mask.0[t] {
                    kept.push(t as u32);
                    rows.for_each(|r| values.extend_from_slice(&data[r * k + cols.start..r * k + cols.end]));
                }
            }
            out.insert(
                format!("{name}.blocks"),
                Raw {
                    dtype: Dtype::U32,
                    shape: vec![kept.len()],
                    bytes: kept.iter().flat_map(|x| x.to_le_bytes()).collect(),
                },
            );
            out.insert(format!("{name}.values"), raw_f32(vec![values.len()], &values));
            Stored::Block { block: *block }
        }
        Sparsity::Pattern {
            block,
            patterns,
            assign,
        } => {
            let (n, k) = (shape[0], shape[1]);
            let mut values = Vec::new();
            for (t, (rows, cols)) in tiles(n, k, *block).into_iter().enumerate() {
                let bits = &patterns[usize::from(assign[t])].0;
                for r in rows.clone() {
                    for c in cols.clone() {
                        if bits[(r - rows.start) * block[1] + c - cols.start] {
                            values.push(data[r * k + c]);
                        }
                    }
                }
            }
            out.insert(
                format!("{name}.patterns"),
                Raw {
                    dtype: Dtype::U8,
                    shape: vec![patterns.len(), block[0] * block[1]],
                    bytes: patterns.iter().flat_map(|p| p.0.iter().map(|&b| u8::from(b))).collect(),
                },
            );
            out.insert(
                format!("{name}.assign"),
                Raw {
                    dtype: Dtype::U16,
                    shape: vec![assign.len()],
                    bytes: assign.iter().flat_map(|x| x.to_le_bytes()).collect(),
                },
            );
            out.insert(format!("{name}.values"), raw_f32(vec![values.len()], &values));
            Stored::Pattern { block: *block }
        }
        Sparsity::Circulant { block } => {
            let (n, k, b) = (shape[0], shape[1], *block);
            // Project first: the stored weight need not be circulant yet, its effective one is.
            let mut projected = data.to_vec();
            sparsity.project(shape, &mut projected);
            let all = tiles(n, k, [b, b]);
            let mut vectors = vec![0.0f32; all.len() * b];
            for (t, (rows, cols)) in all.iter().enumerate() {
                for r in rows.clone() {
                    for c in cols.clone() {
                        let d = (r - rows.start + b - (c - cols.start)) % b;
                        vectors[t * b + d] = projected[r * k + c];
                    }
                }
            }
            out.insert(format!("{name}.vectors"), raw_f32(vec![all.len(), b], &vectors));
            Stored::Circulant { block: b }
        }
        Sparsity::Csr { .. } => {
            return Err(ExportError::Weight {
                tensor: name.into(),
                detail: "CSR parameters (graph adjacency) are not bundled".into(),
            });
        }
    };
    Ok(Some((stored, out)))
}

/// The safetensors bytes of `tensors`; `file` labels errors.
pub fn serialize(file: &str, tensors: &BTreeMap<String, Raw>) -> Result<Vec<u8>> {
    let err = |e: safetensors::SafeTensorError| ExportError::Bundle {
        file: file.to_string(),
        detail: e.to_string(),
    };
    let views = tensors
        .iter()
        .map(|(n, r)| {
            Ok((
                n.clone(),
                TensorView::new(r.dtype, r.shape.clone(), &r.bytes).map_err(err)?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, None).map_err(err)
}

/// Reads the tensors of a file, naming the file and tensor in errors.
pub struct Reader<'a> {
    pub file: &'a str,
    pub st: &'a SafeTensors<'a>,
}

impl Reader<'_> {
    fn err(&self, tensor: &str, detail: impl Into<String>) -> ExportError {
        ExportError::Bundle {
            file: self.file.to_string(),
            detail: format!("tensor `{tensor}`: {}", detail.into()),
        }
    }

    /// The raw bytes of `name`, which must have `dtype` and (when given) `shape`.
    fn bytes(&self, name: &str, dtype: Dtype, shape: Option<&[usize]>) -> Result<(Vec<usize>, &[u8])> {
        let v = self.st.tensor(name).map_err(|_| self.err(name, "missing"))?;
        if v.dtype() != dtype {
            return Err(self.err(name, format!("is {:?}, expected {dtype:?}", v.dtype())));
        }
        if let Some(s) = shape.filter(|s| *s != v.shape()) {
            return Err(self.err(name, format!("has shape {:?}, expected {s:?}", v.shape())));
        }
        Ok((v.shape().to_vec(), v.data()))
    }

    pub fn f32s(&self, name: &str, shape: Option<&[usize]>) -> Result<Vec<f32>> {
        let (_, b) = self.bytes(name, Dtype::F32, shape)?;
        let v: Vec<f32> = b
            .chunks_exact(4)
            .map(|x| f32::from_le_bytes([x[0], x[1], x[2], x[3]]))
            .collect();
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(self.err(name, format!("non-finite value at index {i}")));
        }
        Ok(v)
    }

    /// The dense weight of shape `shape` and its sparsity, from how it was stored.
    pub fn unpack(&self, name: &str, shape: &[usize], stored: Option<&Stored>) -> Result<(Tensor, Sparsity)> {
        let Some(stored) = stored else {
            let t = Tensor::new(shape.to_vec(), self.f32s(name, Some(shape))?)?;
            return Ok((t, Sparsity::Dense));
        };
        if shape.len() != 2 {
            return Err(self.err(name, format!("sparse storage needs a matrix, declared {shape:?}")));
        }
        let (n, k) = (shape[0], shape[1]);
        let mut w = vec![0.0f32; n * k];
        let values_name = format!("{name}.values");
        let sparsity = match stored {
            Stored::Block { block } => {
                let all = tiles(n, k, *block);
                let blocks_name = format!("{name}.blocks");
                let (_, b) = self.bytes(&blocks_name, Dtype::U32, None)?;
                let kept: Vec<usize> = b
                    .chunks_exact(4)
                    .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize)
                    .collect();
                if kept.windows(2).any(|p| p[0] >= p[1]) || kept.last().is_some_and(|&t| t >= all.len()) {
                    return Err(self.err(
                        &blocks_name,
                        format!("must increase and stay below {} tiles", all.len()),
                    ));
                }
                let values = self.f32s(&values_name, None)?;
                let mut mask = vec![false; all.len()];
                let mut at = 0;
                for &t in &kept {
                    mask[t] = true;
                    let (rows, cols) = &all[t];
                    for r in rows.clone() {
                        let dst = &mut w[r * k + cols.start..r * k + cols.end];
                        let src = values
                            .get(at..at + dst.len())
                            .ok_or_else(|| self.err(&values_name, "too short"))?;
                        dst.copy_from_slice(src);
                        at += dst.len();
                    }
                }
                if at != values.len() {
                    return Err(self.err(
                        &values_name,
                        format!("has {} values, the kept tiles hold {at}", values.len()),
                    ));
                }
                Sparsity::Block {
                    block: *block,
                    mask: BitMask(mask),
                }
            }
            Stored::Pattern { block } => {
                let all = tiles(n, k, *block);
                let pname = format!("{name}.patterns");
                let (pshape, pb) = self.bytes(&pname, Dtype::U8, None)?;
                if pshape.len() != 2 || pshape[1] != block[0] * block[1] {
                    return Err(self.err(
                        &pname,
                        format!("has shape {pshape:?}, expected [_, {}]", block[0] * block[1]),
                    ));
                }
                let patterns: Vec<BitMask> = pb
                    .chunks(pshape[1])
                    .map(|p| BitMask(p.iter().map(|&x| x != 0).collect()))
                    .collect();
                let aname = format!("{name}.assign");
                let (_, ab) = self.bytes(&aname, Dtype::U16, Some(&[all.len()]))?;
                let assign: Vec<u16> = ab.chunks_exact(2).map(|x| u16::from_le_bytes([x[0], x[1]])).collect();
                if assign.iter().any(|&a| usize::from(a) >= patterns.len()) {
                    return Err(self.err(&aname, format!("names a pattern beyond the {} stored", patterns.len())));
                }
                let values = self.f32s(&values_name, None)?;
                let mut at = values.iter();
                for (t, (rows, cols)) in all.iter().enumerate() {
                    let bits = &patterns[usize::from(assign[t])].0;
                    for r in rows.clone() {
                        for c in cols
                            .clone()
                            .filter(|c| bits[(r - rows.start) * block[1] + c - cols.start])
                        {
                            w[r * k + c] = *at.next().ok_or_else(|| self.err(&values_name, "too short"))?;
                        }
                    }
                }
                if at.next().is_some() {
                    return Err(self.err(&values_name, "has more values than the patterns keep"));
                }
                Sparsity::Pattern {
                    block: *block,
                    patterns,
                    assign,
                }
            }
            Stored::Circulant { block: b } => {
                let all = tiles(n, k, [*b, *b]);
                let v = self.f32s(&format!("{name}.vectors"), Some(&[all.len(), *b]))?;
                for (t, (rows, cols)) in all.iter().enumerate() {
                    for r in rows.clone() {
                        for c in cols.clone() {
                            w[r * k + c] = v[t * b + (r - rows.start + b - (c - cols.start)) % b];
                        }
                    }
                }
                Sparsity::Circulant { block: *b }
            }
        };
        sparsity.validate(name, shape)?;
        Ok((Tensor::new(shape.to_vec(), w)?, sparsity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(n: usize, k: usize) -> Tensor {
        Tensor::new(vec![n, k], (0..n * k).map(|i| i as f32 * 0.25 - 3.0).collect()).unwrap()
    }

    /// Packs, serialises, reads back, and checks the effective weight and sparsity survive.
    fn round_trip(s: Sparsity) -> (usize, usize) {
        let w = matrix(5, 7);
        let (stored, tensors) = pack("p", &w, &s).unwrap().expect("sparse");
        let bytes = serialize("w", &tensors).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let (got, sparsity) = Reader { file: "w", st: &st }
            .unpack("p", &[5, 7], Some(&stored))
            .unwrap();
        assert_eq!(sparsity, s);
        let mut want = w.data().to_vec();
        s.project(&[5, 7], &mut want);
        let mut eff = got.data().to_vec();
        s.project(&[5, 7], &mut eff);
        assert_eq!(eff, want);
        let values = tensors.get("p.values").map_or(0, |r| r.bytes.len() / 4);
        (values, s.nnz(&[5, 7]) as usize)
    }

    #[test]
    fn block_pattern_and_circulant_round_trip_storing_only_kept_values() {
        // 5x7 in 2x3 tiles: a 3x3 grid, edge tiles clipped.
        let mask = BitMask(vec![true, false, false, false, true, true, false, false, true]);
        let (values, nnz) = round_trip(Sparsity::Block { block: [2, 3], mask });
        assert_eq!(values, nnz, "only the kept tiles' values are stored");
        let patterns = vec![
            BitMask(vec![true, false, true, false, true, false]),
            BitMask(vec![false; 6]),
        ];
        let (values, nnz) = round_trip(Sparsity::Pattern {
            block: [2, 3],
            patterns,
            assign: vec![0, 1, 0, 0, 0, 1, 1, 0, 0],
        });
        assert_eq!(values, nnz);
        round_trip(Sparsity::Circulant { block: 3 });
    }

    #[test]
    fn damaged_structure_tensors_are_named() {
        let w = matrix(4, 4);
        let s = Sparsity::Block {
            block: [2, 2],
            mask: BitMask(vec![true, false, false, true]),
        };
        let (stored, mut tensors) = pack("q", &w, &s).unwrap().unwrap();
        tensors.get_mut("q.blocks").unwrap().bytes[0] = 9;
        let bytes = serialize("w", &tensors).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let err = Reader {
            file: "w.safetensors",
            st: &st,
        }
        .unpack("q", &[4, 4], Some(&stored))
        .unwrap_err()
        .to_string();
        assert!(err.contains("w.safetensors") && err.contains("q.blocks"), "{err}");
    }
}
