use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{IrError, Result};

/// A fixed-length bit set, printed as hex (four bits a digit, first bit most significant).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BitMask(pub Vec<bool>);

impl BitMask {
    pub fn count_ones(&self) -> usize {
        self.0.iter().filter(|&&b| b).count()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_hex(&self) -> String {
        self.0
            .chunks(4)
            .map(|c| {
                let v = c
                    .iter()
                    .enumerate()
                    .fold(0u32, |v, (i, &b)| v | (u32::from(b) << (3 - i)));
                char::from_digit(v, 16).expect("a nibble is a hex digit")
            })
            .collect()
    }

    /// Parses `len` bits from hex; the padding bits of the last digit must be zero.
    pub fn from_hex(hex: &str, len: usize) -> std::result::Result<Self, String> {
        if hex.len() != len.div_ceil(4) {
            return Err(format!(
                "mask needs {} hex digits for {len} bits, found {}",
                len.div_ceil(4),
                hex.len()
            ));
        }
        let mut bits = Vec::with_capacity(len);
        for ch in hex.chars() {
            let v = ch.to_digit(16).ok_or_else(|| format!("`{ch}` is not a hex digit"))?;
            for i in 0..4 {
                bits.push(v >> (3 - i) & 1 == 1);
            }
        }
        if bits[len..].iter().any(|&b| b) {
            return Err("mask has bits set past its length".into());
        }
        bits.truncate(len);
        Ok(Self(bits))
    }
}

/// The structure a 2-D parameter (out x in) is constrained to. The effective weight is the stored
/// dense weight projected onto this structure (see [`Sparsity::project`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sparsity {
    Dense,
    /// `block = [rows, cols]` tiles over a grid of ceil(out/rows) x ceil(in/cols), row-major;
    /// a cleared bit zeroes the whole tile (edge tiles are clipped to the matrix).
    Block {
        block: [usize; 2],
        mask: BitMask,
    },
    /// Each tile takes one of `patterns` (rows*cols bits each, row-major) by `assign`, one entry
    /// per tile of the grid, row-major (RT3's pattern pruning; ALGORITHMS.md §4).
    Pattern {
        block: [usize; 2],
        patterns: Vec<BitMask>,
        assign: Vec<u16>,
    },
    /// b x b circulant tiles, the matrix zero-padded to multiples of b (Ftrans; ALGORITHMS.md §6).
    Circulant {
        block: usize,
    },
    /// A sparse matrix held in CSR with `nnz` stored entries (graph adjacency for SpMM).
    Csr {
        nnz: usize,
    },
}

fn grid(shape: &[usize], block: [usize; 2]) -> [usize; 2] {
    [shape[0].div_ceil(block[0]), shape[1].div_ceil(block[1])]
}

/// Rows and columns of tile (gi, gj) that fall inside the matrix.
fn clipped(shape: &[usize], block: [usize; 2], gi: usize, gj: usize) -> [usize; 2] {
    [
        block[0].min(shape[0] - gi * block[0]),
        block[1].min(shape[1] - gj * block[1]),
    ]
}

/// FLOPs of a real FFT of length n: the usual 2.5 n log2 n estimate.
fn rfft_flops(n: usize) -> f64 {
    if n < 2 { 0.0 } else { 2.5 * n as f64 * (n as f64).log2() }
}

impl Sparsity {
    pub fn is_dense(&self) -> bool {
        matches!(self, Sparsity::Dense)
    }

    /// Short name of the structure, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Sparsity::Dense => "dense",
            Sparsity::Block { .. } => "block",
            Sparsity::Pattern { .. } => "pattern",
            Sparsity::Circulant { .. } => "circulant",
            Sparsity::Csr { .. } => "csr",
        }
    }

    /// Checks the structure fits a parameter of `shape`; errors name the parameter.
    pub fn validate(&self, param: &str, shape: &[usize]) -> Result<()> {
        let err = |detail: String| {
            Err(IrError::Param {
                param: param.to_string(),
                detail,
            })
        };
        if !self.is_dense() && shape.len() != 2 {
            return err(format!(
                "{} sparsity needs a 2-D parameter, got shape {shape:?}",
                self.kind()
            ));
        }
        match self {
            Sparsity::Dense => Ok(()),
            Sparsity::Block { block, mask } => {
                if block[0] == 0 || block[1] == 0 {
                    return err("block shape must be positive".into());
                }
                let g = grid(shape, *block);
                if mask.len() != g[0] * g[1] {
                    return err(format!(
                        "block mask has {} bits but a {}x{} grid of {}x{} blocks needs {}",
                        mask.len(),
                        g[0],
                        g[1],
                        block[0],
                        block[1],
                        g[0] * g[1]
                    ));
                }
                Ok(())
            }
            Sparsity::Pattern {
                block,
                patterns,
                assign,
            } => {
                if block[0] == 0 || block[1] == 0 {
                    return err("block shape must be positive".into());
                }
                if let Some(p) = patterns.iter().position(|p| p.len() != block[0] * block[1]) {
                    return err(format!(
                        "pattern {p} has {} bits, a block has {}",
                        patterns[p].len(),
                        block[0] * block[1]
                    ));
                }
                let g = grid(shape, *block);
                if assign.len() != g[0] * g[1] {
                    return err(format!(
                        "pattern assignment has {} entries, the grid has {}",
                        assign.len(),
                        g[0] * g[1]
                    ));
                }
                if let Some(a) = assign.iter().find(|&&a| usize::from(a) >= patterns.len()) {
                    return err(format!("pattern index {a} but only {} patterns", patterns.len()));
                }
                Ok(())
            }
            Sparsity::Circulant { block } if *block == 0 => err("circulant block size must be positive".into()),
            Sparsity::Circulant { .. } => Ok(()),
            Sparsity::Csr { nnz } if *nnz > shape[0] * shape[1] => err(format!(
                "{nnz} stored entries exceed the {}x{} matrix",
                shape[0], shape[1]
            )),
            Sparsity::Csr { .. } => Ok(()),
        }
    }

    /// Non-zero weights of the effective matrix (a circulant matrix is fully populated).
    pub fn nnz(&self, shape: &[usize]) -> u64 {
        let dense: u64 = shape.iter().product::<usize>() as u64;
        match self {
            Sparsity::Dense | Sparsity::Circulant { .. } => dense,
            Sparsity::Csr { nnz } => *nnz as u64,
            Sparsity::Block { block, mask } => {
                let g = grid(shape, *block);
                (0..g[0] * g[1])
                    .filter(|&t| mask.0[t])
                    .map(|t| {
                        let c = clipped(shape, *block, t / g[1], t % g[1]);
                        (c[0] * c[1]) as u64
                    })
                    .sum()
            }
            Sparsity::Pattern {
                block,
                patterns,
                assign,
            } => {
                let g = grid(shape, *block);
                (0..g[0] * g[1])
                    .map(|t| {
                        let c = clipped(shape, *block, t / g[1], t % g[1]);
                        let p = &patterns[usize::from(assign[t])].0;
                        (0..c[0])
                            .map(|r| p[r * block[1]..r * block[1] + c[1]].iter().filter(|&&b| b).count())
                            .sum::<usize>() as u64
                    })
                    .sum()
            }
        }
    }

    /// Weights actually stored (a circulant tile stores one vector of b).
    pub fn stored(&self, shape: &[usize]) -> u64 {
        match self {
            Sparsity::Circulant { block } => {
                let g = grid(shape, [*block, *block]);
                (g[0] * g[1] * block) as u64
            }
            _ => self.nnz(shape),
        }
    }

    /// Share of the dense matrix's weights that are non-zero.
    pub fn density(&self, shape: &[usize]) -> f64 {
        let dense = shape.iter().product::<usize>().max(1) as f64;
        self.nnz(shape) as f64 / dense
    }

    /// FLOPs of multiplying `tokens` activation rows by this (out x in) matrix. Sparse formats
    /// count only their non-zeros; circulant counts the FFT route: FFT of each input tile, a
    /// complex multiply-add per tile and frequency bin (8 FLOPs over b/2+1 bins), inverse FFTs.
    pub fn matmul_flops(&self, tokens: usize, shape: &[usize]) -> u64 {
        match self {
            Sparsity::Circulant { block } => {
                let b = *block;
                let g = grid(shape, [b, b]);
                let per_token = g[1] as f64 * rfft_flops(b)
                    + (g[0] * g[1]) as f64 * 8.0 * (b / 2 + 1) as f64
                    + g[0] as f64 * rfft_flops(b);
                (tokens as f64 * per_token).round() as u64
            }
            _ => 2 * tokens as u64 * self.nnz(shape),
        }
    }

    /// Projects a dense row-major matrix onto the structure in place: masks zero what they
    /// drop; circulant replaces each tile by the least-squares nearest circulant matrix (the
    /// average of each wrapped diagonal, over the part of the tile inside the matrix).
    pub fn project(&self, shape: &[usize], data: &mut [f32]) {
        match self {
            Sparsity::Dense | Sparsity::Csr { .. } => {}
            Sparsity::Block { block, mask } => {
                let g = grid(shape, *block);
                for (r, row) in data.chunks_mut(shape[1]).enumerate() {
                    for (c, v) in row.iter_mut().enumerate() {
                        if !mask.0[(r / block[0]) * g[1] + c / block[1]] {
                            *v = 0.0;
                        }
                    }
                }
            }
            Sparsity::Pattern {
                block,
                patterns,
                assign,
            } => {
                let g = grid(shape, *block);
                for (r, row) in data.chunks_mut(shape[1]).enumerate() {
                    for (c, v) in row.iter_mut().enumerate() {
                        let p = &patterns[usize::from(assign[(r / block[0]) * g[1] + c / block[1]])];
                        if !p.0[(r % block[0]) * block[1] + c % block[1]] {
                            *v = 0.0;
                        }
                    }
                }
            }
            Sparsity::Circulant { block } => project_circulant(shape, *block, data),
        }
    }
}

/// Tile (gi, gj) of a circulant matrix has entry (r, c) = w[(r - c) mod b].
fn project_circulant(shape: &[usize], b: usize, data: &mut [f32]) {
    let g = grid(shape, [b, b]);
    for gi in 0..g[0] {
        for gj in 0..g[1] {
            let cl = clipped(shape, [b, b], gi, gj);
            let mut sum = vec![0.0f64; b];
            let mut count = vec![0usize; b];
            for r in 0..cl[0] {
                for c in 0..cl[1] {
                    let d = (r + b - c) % b;
                    sum[d] += f64::from(data[(gi * b + r) * shape[1] + gj * b + c]);
                    count[d] += 1;
                }
            }
            for r in 0..cl[0] {
                for c in 0..cl[1] {
                    let d = (r + b - c) % b;
                    data[(gi * b + r) * shape[1] + gj * b + c] = (sum[d] / count[d] as f64) as f32;
                }
            }
        }
    }
}

impl fmt::Display for Sparsity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sparsity::Dense => write!(f, "dense"),
            Sparsity::Block { block, mask } => write!(f, "block({}x{}, mask={})", block[0], block[1], mask.to_hex()),
            Sparsity::Pattern {
                block,
                patterns,
                assign,
            } => {
                let ps: Vec<String> = patterns.iter().map(BitMask::to_hex).collect();
                let a: Vec<String> = assign.iter().map(u16::to_string).collect();
                write!(
                    f,
                    "pattern({}x{}, patterns=[{}], assign=[{}])",
                    block[0],
                    block[1],
                    ps.join(" "),
                    a.join(" ")
                )
            }
            Sparsity::Circulant { block } => write!(f, "circulant({block})"),
            Sparsity::Csr { nnz } => write!(f, "csr(nnz={nnz})"),
        }
    }
}

impl Sparsity {
    /// Parses the text form printed by `Display`, for a parameter of `shape`.
    pub fn parse(text: &str, shape: &[usize]) -> std::result::Result<Self, String> {
        let text = text.trim();
        if text == "dense" {
            return Ok(Sparsity::Dense);
        }
        let open = text.find('(').ok_or("expected `kind(...)`")?;
        let body = text[open + 1..].strip_suffix(')').ok_or("missing closing `)`")?;
        let kind = &text[..open];
        let parse_block = |s: &str| -> std::result::Result<[usize; 2], String> {
            let (r, c) = s
                .trim()
                .split_once('x')
                .ok_or_else(|| format!("block shape `{s}` is not RxC"))?;
            let num = |v: &str| {
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("`{v}` is not a block size"))
            };
            Ok([num(r)?, num(c)?])
        };
        if shape.len() != 2 {
            return Err(format!("{kind} sparsity needs a 2-D parameter"));
        }
        match kind {
            "circulant" => Ok(Sparsity::Circulant {
                block: body
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{body}` is not a block size"))?,
            }),
            "csr" => {
                let n = body.trim().strip_prefix("nnz=").ok_or("expected csr(nnz=N)")?;
                Ok(Sparsity::Csr {
                    nnz: n.parse().map_err(|_| format!("`{n}` is not a count"))?,
                })
            }
            "block" => {
                let (b, m) = body.split_once(',').ok_or("expected block(RxC, mask=HEX)")?;
                let block = parse_block(b)?;
                let hex = m.trim().strip_prefix("mask=").ok_or("expected mask=HEX")?;
                if block[0] == 0 || block[1] == 0 {
                    return Err("block shape must be positive".into());
                }
                let g = grid(shape, block);
                Ok(Sparsity::Block {
                    block,
                    mask: BitMask::from_hex(hex, g[0] * g[1])?,
                })
            }
            "pattern" => {
                let (b, rest) = body
                    .split_once(',')
                    .ok_or("expected pattern(RxC, patterns=[..], assign=[..])")?;
                let block = parse_block(b)?;
                let list = |s: &str, key: &str| -> std::result::Result<Vec<String>, String> {
                    let inner = s
                        .trim()
                        .strip_prefix(key)
                        .and_then(|s| s.strip_prefix("=["))
                        .and_then(|s| s.strip_suffix(']'))
                        .ok_or_else(|| format!("expected {key}=[...]"))?;
                    Ok(inner.split_whitespace().map(str::to_string).collect())
                };
                let (p, a) = rest.split_once("],").ok_or("expected patterns=[..], assign=[..]")?;
                let patterns = list(&format!("{p}]"), "patterns")?
                    .iter()
                    .map(|h| BitMask::from_hex(h, block[0] * block[1]))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let assign = list(a, "assign")?
                    .iter()
                    .map(|v| v.parse::<u16>().map_err(|_| format!("`{v}` is not a pattern index")))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Ok(Sparsity::Pattern {
                    block,
                    patterns,
                    assign,
                })
            }
            other => Err(format!("unknown sparsity `{other}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_half() -> Sparsity {
        // 5x6 matrix in 2x4 tiles: grid 3x2; keep tiles 0, 3, 4.
        Sparsity::Block {
            block: [2, 4],
            mask: BitMask(vec![true, false, false, true, true, false]),
        }
    }

    #[test]
    fn block_nnz_clips_edge_tiles() {
        // tile 0: 2x4 = 8; tile 3 (row 1, col 1): 2x2 = 4; tile 4 (row 2, col 0): 1x4 = 4.
        assert_eq!(block_half().nnz(&[5, 6]), 16);
        assert_eq!(block_half().matmul_flops(10, &[5, 6]), 2 * 10 * 16);
        let mut w = vec![1.0f32; 30];
        block_half().project(&[5, 6], &mut w);
        assert_eq!(w.iter().filter(|&&v| v != 0.0).count(), 16);
    }

    #[test]
    fn validate_names_param_and_counts() {
        let err = block_half().validate("enc.0.q.w", &[7, 6]).unwrap_err().to_string();
        assert!(err.contains("enc.0.q.w") && err.contains("6 bits"), "{err}");
        assert!(Sparsity::Circulant { block: 4 }.validate("x", &[8]).is_err());
    }

    #[test]
    fn text_round_trips() {
        let shape = [5, 6];
        let p = Sparsity::Pattern {
            block: [2, 4],
            patterns: vec![BitMask(vec![true; 8]), BitMask((0..8).map(|i| i % 3 == 0).collect())],
            assign: vec![0, 1, 1, 0, 1, 1],
        };
        for s in [
            Sparsity::Dense,
            block_half(),
            p,
            Sparsity::Circulant { block: 3 },
            Sparsity::Csr { nnz: 7 },
        ] {
            let text = s.to_string();
            assert_eq!(Sparsity::parse(&text, &shape).unwrap(), s, "{text}");
        }
        assert!(Sparsity::parse("block(2x4, mask=zz)", &shape).is_err());
    }

    #[test]
    fn circulant_projection_is_idempotent_and_circulant() {
        let shape = [4, 4];
        let mut w: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let s = Sparsity::Circulant { block: 4 };
        s.project(&shape, &mut w);
        for r in 0..4 {
            for c in 0..4 {
                assert_eq!(w[r * 4 + c], w[((r + 1) % 4) * 4 + (c + 1) % 4]);
            }
        }
        let before = w.clone();
        s.project(&shape, &mut w);
        assert_eq!(w, before);
        assert_eq!(s.stored(&shape), 4);
    }
}
