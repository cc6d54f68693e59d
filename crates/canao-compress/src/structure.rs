//! The sets a pruned weight is constrained to, and the Euclidean projection onto each.
//!
//! A structure partitions a weight, seen as the matrix [out, everything else] (a convolution's
//! [out, in, kh, kw] is [out, in*kh*kw]), into groups, and the set is "at most `keep` groups
//! non-zero". Every structure here is a tiling, so a kept set of groups is an IR
//! `Sparsity::Block` mask: irregular is 1 x 1 tiles, a filter is one output row, a column is one
//! input column across all outputs, a block is a b_r x b_c tile.
//!
//! The projection of W onto that set (the point of the set nearest W in the Frobenius norm)
//! keeps the `keep` groups of largest L2 norm and zeroes the rest: zeroing a group costs its
//! squared norm, so the cheapest choice drops the smallest groups. Ties break by position, so
//! the projection is deterministic.
//!
//! Block-circulant (Ftrans, §6) is the one structure that drops nothing: its set is the linear
//! subspace of matrices whose b x b tiles are circulant, the projection replaces each tile by
//! the means of its wrapped diagonals (the IR's `Sparsity::Circulant` projection), and its
//! compression is fixed by b (one stored vector of b per tile), not by a rate.

use std::fmt;
use std::str::FromStr;

use canao_ir::{BitMask, Sparsity};
use serde::{Deserialize, Serialize};

use crate::error::CompressError;

/// Whether a projection may empty a whole row of tiles (a band of output rows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rows {
    #[default]
    Any,
    /// Every row of tiles keeps at least one group: BP-RGL's "never remove a whole output row",
    /// so no output feature of a layer becomes its bias alone.
    EachKept,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Structure {
    /// Single weights (unstructured sparsity).
    Irregular,
    /// Whole output rows: a convolution's filters, a linear layer's output neurons.
    Filter,
    /// Whole input columns across every output: a convolution's (channel, kernel position)
    /// columns of its im2col matrix, a linear layer's input features.
    Column,
    /// `rows` x `cols` tiles, clipped at the matrix's edges.
    Block { rows: usize, cols: usize },
    /// `block` x `block` circulant tiles, the matrix zero-padded to multiples of `block`.
    Circulant { block: usize },
}

impl Structure {
    /// The tile this structure cuts a matrix of `shape` into.
    pub fn tile(&self, shape: [usize; 2]) -> [usize; 2] {
        match *self {
            Structure::Irregular => [1, 1],
            Structure::Filter => [1, shape[1]],
            Structure::Column => [shape[0], 1],
            Structure::Block { rows, cols } => [rows, cols],
            Structure::Circulant { block } => [block, block],
        }
    }

    /// Groups of a matrix of `shape`.
    pub fn groups(&self, shape: [usize; 2]) -> usize {
        let t = self.tile(shape);
        shape[0].div_ceil(t[0]) * shape[1].div_ceil(t[1])
    }

    /// Groups to keep so that the weight of `param` is compressed `rate` times (total groups
    /// over kept groups, rounded to the nearest count). A rate that would keep less than one
    /// group is an error naming the parameter. Circulant keeps every tile whatever the rate.
    pub fn keep_for_rate(&self, param: &str, shape: [usize; 2], rate: f64) -> Result<usize, CompressError> {
        if !(rate.is_finite() && rate >= 1.0) {
            return Err(CompressError::Rate(rate));
        }
        let groups = self.groups(shape);
        if matches!(self, Structure::Circulant { .. }) {
            return Ok(groups);
        }
        let keep = (groups as f64 / rate).round() as usize;
        if keep == 0 {
            return Err(CompressError::Unreachable {
                param: param.into(),
                detail: format!("{rate}x keeps no group of {groups} {self} groups in a {shape:?} matrix"),
            });
        }
        Ok(keep)
    }

    /// L2 norm of every group of the row-major matrix `data` of `shape`, row-major over the grid.
    pub fn group_norms(&self, shape: [usize; 2], data: &[f32]) -> Vec<f64> {
        let t = self.tile(shape);
        let grid_cols = shape[1].div_ceil(t[1]);
        let mut sums = vec![0.0f64; self.groups(shape)];
        for (r, row) in data.chunks(shape[1]).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                sums[(r / t[0]) * grid_cols + c / t[1]] += f64::from(v) * f64::from(v);
            }
        }
        sums.into_iter().map(f64::sqrt).collect()
    }

    /// The projection of `data` (of `shape`) onto "at most `keep` groups non-zero" (and, under
    /// `Rows::EachKept`, "every row of tiles keeps one"), as the mask of the kept groups;
    /// `Sparsity::project` applies it.
    pub fn project(
        &self,
        param: &str,
        shape: [usize; 2],
        data: &[f32],
        keep: usize,
        rows: Rows,
    ) -> Result<Sparsity, CompressError> {
        self.check(param, shape, data.len())?;
        let norms = self.group_norms(shape, data);
        if let Structure::Circulant { block } = *self {
            return match norms.iter().position(|n| !n.is_finite()) {
                Some(group) => Err(CompressError::NonFinite {
                    param: param.into(),
                    group,
                }),
                None => Ok(Sparsity::Circulant { block }),
            };
        }
        let mask = self.kept(param, shape, &norms, keep, rows)?;
        Ok(Sparsity::Block {
            block: self.tile(shape),
            mask: BitMask(mask),
        })
    }

    /// The groups the projection keeps, given their norms (row-major over the grid): the `keep`
    /// largest; under `Rows::EachKept` the largest of every row of tiles first, then the largest
    /// of the rest. Dropping a group costs its squared norm, so both are the cheapest choice in
    /// their set (for the second: an optimal choice can always swap a row's kept group for that
    /// row's largest). Ties break by position.
    pub fn kept(
        &self,
        param: &str,
        shape: [usize; 2],
        norms: &[f64],
        keep: usize,
        rows: Rows,
    ) -> Result<Vec<bool>, CompressError> {
        if matches!(self, Structure::Circulant { .. }) {
            return Err(CompressError::Setting {
                field: "structure".into(),
                detail: format!("{self} keeps every tile of `{param}`; only the other structures choose groups"),
            });
        }
        let grid_rows = shape[0].div_ceil(self.tile(shape)[0]);
        let floor = if rows == Rows::EachKept { grid_rows } else { 1 };
        if keep < floor || keep > norms.len() {
            let rule = if rows == Rows::EachKept {
                ", one in each of its rows of tiles,"
            } else {
                ""
            };
            return Err(CompressError::Unreachable {
                param: param.into(),
                detail: format!("cannot keep {keep}{rule} of {} {self} groups", norms.len()),
            });
        }
        if let Some(i) = norms.iter().position(|n| !n.is_finite()) {
            return Err(CompressError::NonFinite {
                param: param.into(),
                group: i,
            });
        }
        let mut order: Vec<usize> = (0..norms.len()).collect();
        order.sort_by(|&a, &b| norms[b].total_cmp(&norms[a]).then(a.cmp(&b)));
        let mut mask = vec![false; norms.len()];
        let mut kept = 0;
        if rows == Rows::EachKept {
            let grid_cols = norms.len() / grid_rows;
            let mut covered = vec![false; grid_rows];
            for &g in &order {
                if !covered[g / grid_cols] {
                    covered[g / grid_cols] = true;
                    mask[g] = true;
                    kept += 1;
                }
            }
        }
        for &g in &order {
            if kept == keep {
                break;
            }
            if !mask[g] {
                mask[g] = true;
                kept += 1;
            }
        }
        Ok(mask)
    }

    fn check(&self, param: &str, shape: [usize; 2], len: usize) -> Result<(), CompressError> {
        if shape[0] * shape[1] != len || len == 0 {
            return Err(CompressError::Shape {
                name: param.into(),
                shape: shape.to_vec(),
            });
        }
        match *self {
            Structure::Block { rows, cols } if rows == 0 || cols == 0 => Err(CompressError::Block(rows, cols)),
            Structure::Circulant { block: 0 } => Err(CompressError::Block(0, 0)),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Structure::Irregular => f.write_str("irregular"),
            Structure::Filter => f.write_str("filter"),
            Structure::Column => f.write_str("column"),
            Structure::Block { rows, cols } => write!(f, "block:{rows}x{cols}"),
            Structure::Circulant { block } => write!(f, "circulant:{block}"),
        }
    }
}

impl FromStr for Structure {
    type Err = CompressError;

    /// `irregular`, `filter`, `column`, `block:RxC` or `circulant:B`.
    fn from_str(s: &str) -> Result<Self, CompressError> {
        let unknown = || CompressError::UnknownStructure(s.to_string());
        Ok(match s {
            "irregular" => Structure::Irregular,
            "filter" => Structure::Filter,
            "column" => Structure::Column,
            _ if s.starts_with("circulant:") => {
                let block: usize = s["circulant:".len()..].parse().map_err(|_| unknown())?;
                if block == 0 {
                    return Err(CompressError::Block(0, 0));
                }
                Structure::Circulant { block }
            }
            _ => {
                let (r, c) = s
                    .strip_prefix("block:")
                    .and_then(|b| b.split_once('x'))
                    .ok_or_else(unknown)?;
                let (rows, cols) = (r.parse().map_err(|_| unknown())?, c.parse().map_err(|_| unknown())?);
                if rows == 0 || cols == 0 {
                    return Err(CompressError::Block(rows, cols));
                }
                Structure::Block { rows, cols }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Squared distance from `w` to its projection under `s`.
    fn cost(s: &Sparsity, shape: [usize; 2], w: &[f32]) -> f64 {
        let mut p = w.to_vec();
        s.project(&shape, &mut p);
        w.iter().zip(&p).map(|(a, b)| f64::from(a - b).powi(2)).sum()
    }

    fn structures() -> impl Strategy<Value = Structure> {
        prop_oneof![
            Just(Structure::Irregular),
            Just(Structure::Filter),
            Just(Structure::Column),
            (1usize..4, 1usize..4).prop_map(|(rows, cols)| Structure::Block { rows, cols }),
        ]
    }

    /// Whether the groups of `subset` (bit g: group g) leave no row of the grid empty.
    fn covers_rows(subset: u32, groups: usize, grid_cols: usize) -> bool {
        (0..groups / grid_cols).all(|r| (0..grid_cols).any(|c| subset >> (r * grid_cols + c) & 1 == 1))
    }

    proptest! {
        /// The projection keeps exactly `keep` whole groups (one in every row of tiles under
        /// `Rows::EachKept`), and no other such choice is nearer to W (checked against every
        /// subset of a small grid).
        #[test]
        fn projection_is_in_the_set_and_nearest(
            s in structures(), n in 1usize..5, k in 1usize..5, each_row: bool,
            values in proptest::collection::vec(-8.0f32..8.0, 16), pick in 0.0f64..1.0,
        ) {
            let shape = [n, k];
            let w = &values[..n * k];
            let groups = s.groups(shape);
            prop_assume!(groups <= 12);
            let grid_cols = shape[1].div_ceil(s.tile(shape)[1]);
            let (rows, floor) = if each_row { (Rows::EachKept, groups / grid_cols) } else { (Rows::Any, 1) };
            let keep = floor + ((groups - floor) as f64 * pick) as usize;
            let got = s.project("w", shape, w, keep, rows).unwrap();
            let Sparsity::Block { block, mask } = &got else { panic!("a tiling gives a block mask") };
            prop_assert_eq!(*block, s.tile(shape));
            prop_assert_eq!(mask.count_ones(), keep);
            let bits = mask.0.iter().enumerate().fold(0u32, |acc, (i, &m)| acc | (u32::from(m) << i));
            prop_assert!(!each_row || covers_rows(bits, groups, grid_cols));
            let best = cost(&got, shape, w);
            for subset in 0u32..(1 << groups) {
                if subset.count_ones() as usize != keep || (each_row && !covers_rows(subset, groups, grid_cols)) {
                    continue;
                }
                let other = Sparsity::Block { block: *block, mask: BitMask((0..groups).map(|i| subset >> i & 1 == 1).collect()) };
                prop_assert!(best <= cost(&other, shape, w) + 1e-9);
            }
        }
    }

    #[test]
    fn every_row_keeps_a_tile_even_when_its_tiles_are_small() {
        // Row 0 of tiles holds the three largest groups; row 1's largest must still stay.
        let norms = [9.0, 8.0, 7.0, 1.0, 0.5, 0.1];
        let s = Structure::Block { rows: 2, cols: 2 };
        let kept = |rows| s.kept("w", [4, 6], &norms, 3, rows).unwrap();
        assert_eq!(kept(Rows::Any), [true, true, true, false, false, false]);
        assert_eq!(kept(Rows::EachKept), [true, true, false, true, false, false]);
        let err = s.kept("enc.0.q.w", [4, 6], &norms, 1, Rows::EachKept).unwrap_err();
        assert!(err.to_string().contains("enc.0.q.w"), "{err}");
    }

    #[test]
    fn tiles_and_rates() {
        assert_eq!(Structure::Filter.tile([6, 150]), [1, 150]);
        assert_eq!(Structure::Column.groups([6, 150]), 150);
        assert_eq!(Structure::Block { rows: 16, cols: 16 }.groups([40, 33]), 3 * 3);
        assert_eq!(Structure::Irregular.keep_for_rate("w", [10, 10], 4.0).unwrap(), 25);
        let err = Structure::Filter.keep_for_rate("conv1.w", [6, 25], 16.0).unwrap_err();
        assert!(err.to_string().contains("conv1.w"), "{err}");
        assert!(Structure::Irregular.keep_for_rate("w", [2, 2], 0.5).is_err());
    }

    #[test]
    fn parses_what_it_prints() {
        for s in [
            Structure::Irregular,
            Structure::Filter,
            Structure::Column,
            Structure::Block { rows: 16, cols: 32 },
            Structure::Circulant { block: 8 },
        ] {
            assert_eq!(s.to_string().parse::<Structure>().unwrap(), s);
        }
        for bad in [
            "rows",
            "block:16",
            "block:0x4",
            "block:ax4",
            "pattern",
            "circulant:0",
            "circulant:x",
        ] {
            assert!(bad.parse::<Structure>().is_err(), "{bad}");
        }
    }

    proptest! {
        /// The circulant set is a linear subspace, so its projection P is nearest exactly when
        /// W - P(W) is orthogonal to every block-circulant matrix (checked against a random one,
        /// itself projected), and P(W) is in the set (projecting again changes nothing).
        #[test]
        fn circulant_projection_is_orthogonal(
            b in 1usize..5, n in 1usize..9, k in 1usize..9,
            values in proptest::collection::vec(-4.0f32..4.0, 128),
        ) {
            let shape = [n, k];
            let s = Structure::Circulant { block: b };
            let w = &values[..n * k];
            let sparsity = s.project("w", shape, w, 0, Rows::Any).unwrap();
            prop_assert_eq!(&sparsity, &Sparsity::Circulant { block: b });
            let mut p = w.to_vec();
            sparsity.project(&shape, &mut p);
            let mut again = p.clone();
            sparsity.project(&shape, &mut again);
            prop_assert_eq!(&again, &p);
            let mut c = values[64..64 + n * k].to_vec();
            sparsity.project(&shape, &mut c);
            let dot: f64 = w.iter().zip(&p).zip(&c).map(|((a, b), c)| f64::from(a - b) * f64::from(*c)).sum();
            prop_assert!(dot.abs() < 1e-3, "residual . circulant = {dot}");
        }
    }

    #[test]
    fn circulant_keeps_every_tile_and_chooses_none() {
        let s = Structure::Circulant { block: 4 };
        assert_eq!(s.keep_for_rate("fc1.w", [8, 12], 30.0).unwrap(), 6);
        let err = s.kept("fc1.w", [8, 12], &[1.0; 6], 6, Rows::Any).unwrap_err();
        assert!(err.to_string().contains("fc1.w"), "{err}");
    }

    #[test]
    fn refuses_non_finite_weights() {
        let err = Structure::Irregular
            .project("fc1.w", [1, 2], &[1.0, f32::NAN], 1, Rows::Any)
            .unwrap_err();
        assert!(err.to_string().contains("fc1.w"), "{err}");
    }
}
