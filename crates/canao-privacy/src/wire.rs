//! The bytes a model update (or a broadcast model) travels as, before sealing. Its length is
//! what the communication figures count.
//!
//! Layout, little-endian: `b"CNU1"`, samples `u32`, tensors `u32`, then per tensor a tag byte
//! (0 dense, 1 sparse) and its length `u32`; a dense tensor follows with `len` `f32`s, a sparse
//! one with a count `u32`, `count` strictly increasing `u32` indices and `count` `f32` values.

use crate::error::Rejection;

const MAGIC: &[u8; 4] = b"CNU1";

/// One tensor of an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Dense(Vec<f32>),
    Sparse {
        len: usize,
        indices: Vec<u32>,
        values: Vec<f32>,
    },
}

impl Part {
    pub fn len(&self) -> usize {
        match self {
            Part::Dense(v) => v.len(),
            Part::Sparse { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `weight * self` into `acc` (of the same length).
    pub fn add_scaled(&self, acc: &mut [f64], weight: f64) {
        match self {
            Part::Dense(v) => {
                for (a, x) in acc.iter_mut().zip(v) {
                    *a += weight * f64::from(*x);
                }
            }
            Part::Sparse { indices, values, .. } => {
                for (&i, x) in indices.iter().zip(values) {
                    acc[i as usize] += weight * f64::from(*x);
                }
            }
        }
    }

    /// The tensor written out densely.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0.0f64; self.len()];
        self.add_scaled(&mut out, 1.0);
        out.into_iter().map(|x| x as f32).collect()
    }
}

/// A client's update (or, with `samples` 0, a model): one part per tensor of the model, in the
/// model's tensor order, and the number of training samples behind it (FedAvg's weight).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub samples: u32,
    pub parts: Vec<Part>,
}

impl Update {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.parts.iter().map(|p| 9 + 8 * p.len()).sum::<usize>());
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, self.samples);
        put_u32(&mut out, self.parts.len() as u32);
        for part in &self.parts {
            match part {
                Part::Dense(v) => {
                    out.push(0);
                    put_u32(&mut out, v.len() as u32);
                    v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
                }
                Part::Sparse { len, indices, values } => {
                    out.push(1);
                    put_u32(&mut out, *len as u32);
                    put_u32(&mut out, indices.len() as u32);
                    indices.iter().for_each(|i| put_u32(&mut out, *i));
                    values.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
                }
            }
        }
        out
    }

    /// Parses an update for a model whose tensors have lengths `lens`; anything else (wrong
    /// magic, a tensor of another length, an index out of range or out of order, a non-finite
    /// value, bytes left over) is refused as malformed.
    pub fn decode(bytes: &[u8], lens: &[usize]) -> Result<Self, Rejection> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return Err(malformed("not an update (bad magic)"));
        }
        let samples = r.u32()?;
        let count = r.u32()? as usize;
        if count != lens.len() {
            return Err(malformed(format!("{count} tensors, the model has {}", lens.len())));
        }
        let parts = lens
            .iter()
            .enumerate()
            .map(|(t, &want)| r.part(t, want))
            .collect::<Result<Vec<_>, _>>()?;
        if r.at != bytes.len() {
            return Err(malformed(format!("{} bytes after the last tensor", bytes.len() - r.at)));
        }
        Ok(Self { samples, parts })
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn malformed(detail: impl Into<String>) -> Rejection {
    Rejection::Malformed(detail.into())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Rejection> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| malformed(format!("cut short at byte {}", self.bytes.len())))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, Rejection> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32s(&mut self, n: usize, tensor: usize) -> Result<Vec<f32>, Rejection> {
        let bytes = self.take(n.checked_mul(4).ok_or_else(|| malformed("size overflows"))?)?;
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        match values.iter().position(|v| !v.is_finite()) {
            Some(i) => Err(malformed(format!("tensor {tensor}: value {i} is not finite"))),
            None => Ok(values),
        }
    }

    fn part(&mut self, tensor: usize, want: usize) -> Result<Part, Rejection> {
        let tag = self.take(1)?[0];
        let len = self.u32()? as usize;
        if len != want {
            return Err(malformed(format!(
                "tensor {tensor} has {len} entries, the model's has {want}"
            )));
        }
        match tag {
            0 => Ok(Part::Dense(self.f32s(len, tensor)?)),
            1 => {
                let count = self.u32()? as usize;
                if count > len {
                    return Err(malformed(format!("tensor {tensor}: {count} entries of {len}")));
                }
                let indices = (0..count).map(|_| self.u32()).collect::<Result<Vec<_>, _>>()?;
                let ordered = indices.windows(2).all(|w| w[0] < w[1]);
                if !ordered || indices.last().is_some_and(|&i| i as usize >= len) {
                    return Err(malformed(format!("tensor {tensor}: indices out of order or range")));
                }
                let values = self.f32s(count, tensor)?;
                Ok(Part::Sparse { len, indices, values })
            }
            other => Err(malformed(format!("tensor {tensor}: unknown tag {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Update {
        Update {
            samples: 42,
            parts: vec![
                Part::Dense(vec![1.0, -2.5]),
                Part::Sparse {
                    len: 6,
                    indices: vec![0, 4],
                    values: vec![0.5, -1.0],
                },
            ],
        }
    }

    #[test]
    fn round_trip_and_size() {
        let u = sample();
        let bytes = u.encode();
        assert_eq!(bytes.len(), 12 + (5 + 8) + (5 + 4 + 8 + 8));
        assert_eq!(Update::decode(&bytes, &[2, 6]).unwrap(), u);
        assert_eq!(u.parts[1].to_dense(), vec![0.5, 0.0, 0.0, 0.0, -1.0, 0.0]);
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let bytes = sample().encode();
        let bad = |b: &[u8], lens: &[usize]| matches!(Update::decode(b, lens), Err(Rejection::Malformed(_)));
        assert!(bad(&bytes, &[2, 7]), "a tensor of another length");
        assert!(bad(&bytes, &[2]), "another tensor count");
        assert!(bad(&bytes[..bytes.len() - 1], &[2, 6]), "cut short");
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(bad(&longer, &[2, 6]), "bytes left over");
        let mut nan = bytes.clone();
        nan[17..21].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(bad(&nan, &[2, 6]), "a NaN value");
        let mut unordered = bytes.clone();
        let at = 12 + 13 + 9;
        unordered[at..at + 4].copy_from_slice(&9u32.to_le_bytes());
        assert!(bad(&unordered, &[2, 6]), "an index out of order");
    }
}
