//! RT3's pattern candidates drawn from a layer's own weights (ALGORITHMS.md §4), and the
//! assignment of a chosen pattern set to the layer's tiles.
//!
//! A pattern is a b x b 0/1 mask. Candidates come from importance maps: `draws` times, `blocks`
//! random b x b tiles of |W| (the matrix zero-padded to multiples of b) are summed into a map;
//! `maps` of them are kept, and each map at each sparsity level gives the candidate that zeroes
//! that share of the map's smallest entries. A layer then takes a set of candidates (RT3's
//! controller picks 4 per DVFS level) and every tile takes the pattern of the set that keeps the
//! most of its weight energy, i.e. minimises ||W_tile - W_tile * P||_2.

use canao_ir::{BitMask, Graph, Sparsity, Weights};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::CompressError;

/// RT3's sparsity levels: the share of a tile a candidate zeroes.
pub const RT3_SPARSITY_LEVELS: [f64; 10] = [0.01, 0.13, 0.25, 0.37, 0.50, 0.62, 0.75, 0.87, 0.93, 0.99];

/// How candidates are drawn.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CandidateConfig {
    /// Side of a square tile (b).
    pub block: usize,
    /// Random tiles summed into one importance map (m).
    pub blocks: usize,
    /// Importance maps drawn (k).
    pub draws: usize,
    /// Importance maps kept: the first `maps` of the `draws` (p); draws are independent, so any
    /// p of them are an equally random choice.
    pub maps: usize,
    pub seed: u64,
}

impl CandidateConfig {
    /// RT3's public code: b = 100, m = 10, k = 16, p = 10.
    pub fn rt3(seed: u64) -> Self {
        Self {
            block: 100,
            blocks: 10,
            draws: 16,
            maps: 10,
            seed,
        }
    }

    fn check(&self) -> Result<(), CompressError> {
        let bad = |field: &str, detail: &str| CompressError::Setting {
            field: field.into(),
            detail: detail.into(),
        };
        if self.block == 0 {
            return Err(bad("block", "must be above 0"));
        }
        if self.blocks == 0 || self.draws == 0 || self.maps == 0 {
            return Err(bad("blocks, draws and maps", "must each be above 0"));
        }
        if self.maps > self.draws {
            return Err(bad(
                "maps",
                "cannot exceed draws (the maps kept are some of those drawn)",
            ));
        }
        Ok(())
    }
}

/// A layer's candidate patterns: candidate `level * maps + map` is map `map` at sparsity
/// `levels[level]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    pub block: usize,
    pub maps: usize,
    pub levels: Vec<f64>,
    pub patterns: Vec<BitMask>,
}

impl Candidates {
    /// The sparsity level of candidate `i`.
    pub fn sparsity(&self, i: usize) -> f64 {
        self.levels[i / self.maps]
    }
}

/// The candidates of weight `name` (row-major, `shape` = [out, in]) at sparsity `levels`.
pub fn pattern_candidates(
    name: &str,
    weight: &[f32],
    shape: [usize; 2],
    config: &CandidateConfig,
    levels: &[f64],
) -> Result<Candidates, CompressError> {
    config.check()?;
    check_weight(name, weight, shape)?;
    if let Some(&s) = levels.iter().find(|s| !(s.is_finite() && (0.0..1.0).contains(*s))) {
        return Err(CompressError::Sparsity(s));
    }
    let b = config.block;
    let grid = [shape[0].div_ceil(b), shape[1].div_ceil(b)];
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let maps: Vec<Vec<f32>> = (0..config.draws)
        .map(|_| {
            let mut map = vec![0.0f32; b * b];
            for _ in 0..config.blocks {
                let (gi, gj) = (rng.random_range(0..grid[0]), rng.random_range(0..grid[1]));
                for_each_in_tile(shape, b, gi, gj, |k, index| map[k] += weight[index].abs());
            }
            map
        })
        .take(config.maps)
        .collect();
    let patterns = levels
        .iter()
        .flat_map(|&s| maps.iter().map(move |map| keep_largest(map, s)))
        .collect();
    Ok(Candidates {
        block: b,
        maps: config.maps,
        levels: levels.to_vec(),
        patterns,
    })
}

/// The mask that zeroes the `sparsity` share of `map`'s smallest entries (ties: lower index
/// first, so candidates are reproducible).
fn keep_largest(map: &[f32], sparsity: f64) -> BitMask {
    let zeroed = (sparsity * map.len() as f64).round() as usize;
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&a, &b| map[a].total_cmp(&map[b]).then(a.cmp(&b)));
    let mut keep = vec![true; map.len()];
    for &i in &order[..zeroed] {
        keep[i] = false;
    }
    BitMask(keep)
}

/// Every tile of the weight takes the pattern of `set` that keeps the most of its energy (the
/// first such, on ties); the result is the layer's IR sparsity.
pub fn assign_patterns(
    name: &str,
    weight: &[f32],
    shape: [usize; 2],
    block: usize,
    set: &[BitMask],
) -> Result<Sparsity, CompressError> {
    check_weight(name, weight, shape)?;
    if block == 0 {
        return Err(CompressError::Block(0, 0));
    }
    let setting = |detail: String| CompressError::Setting {
        field: format!("pattern set of `{name}`"),
        detail,
    };
    if set.is_empty() || set.len() > usize::from(u16::MAX) {
        return Err(setting(format!(
            "has {} patterns; it needs 1 to {}",
            set.len(),
            u16::MAX
        )));
    }
    if let Some(p) = set.iter().position(|p| p.len() != block * block) {
        return Err(setting(format!(
            "pattern {p} has {} entries, not {block} x {block} (the tile of the layer)",
            set[p].len()
        )));
    }
    let grid = [shape[0].div_ceil(block), shape[1].div_ceil(block)];
    let mut assignment = Vec::with_capacity(grid[0] * grid[1]);
    for gi in 0..grid[0] {
        for gj in 0..grid[1] {
            let mut kept = vec![0.0f64; set.len()];
            for_each_in_tile(shape, block, gi, gj, |k, index| {
                let energy = f64::from(weight[index]).powi(2);
                for (p, pattern) in set.iter().enumerate() {
                    if pattern.0[k] {
                        kept[p] += energy;
                    }
                }
            });
            let best = (0..set.len()).fold(0, |best, p| if kept[p] > kept[best] { p } else { best });
            assignment.push(best as u16);
        }
    }
    Ok(Sparsity::Pattern {
        block: [block, block],
        patterns: set.to_vec(),
        assign: assignment,
    })
}

/// `graph` with every weight `select` accepts under a pattern set drawn from its own values: all
/// of its candidates at `sparsity` (`config.maps` of them), assigned tile by tile. This is one
/// DVFS level's model when the controller's choice is "every candidate of one sparsity level".
pub fn with_pattern_sets(
    graph: &Graph,
    weights: &Weights,
    config: &CandidateConfig,
    sparsity: f64,
    select: impl Fn(&str) -> bool,
) -> Result<Graph, CompressError> {
    let mut g = graph.clone();
    let chosen: Vec<(String, Vec<usize>)> = g
        .params()
        .iter()
        .filter(|(name, spec)| select(name) && spec.shape.len() == 2)
        .map(|(name, spec)| (name.clone(), spec.shape.clone()))
        .collect();
    for (name, shape) in chosen {
        let data = weights.dense(&name)?.data();
        let shape = [shape[0], shape[1]];
        let c = pattern_candidates(&name, data, shape, config, &[sparsity])?;
        g.set_sparsity(&name, assign_patterns(&name, data, shape, config.block, &c.patterns)?)?;
    }
    Ok(g)
}

/// Calls `f(position in the tile, index in the weight)` for each entry of tile (gi, gj) inside
/// the matrix; the zero padding beyond it contributes nothing.
fn for_each_in_tile(shape: [usize; 2], b: usize, gi: usize, gj: usize, mut f: impl FnMut(usize, usize)) {
    for r in 0..b.min(shape[0] - gi * b) {
        for c in 0..b.min(shape[1] - gj * b) {
            f(r * b + c, (gi * b + r) * shape[1] + gj * b + c);
        }
    }
}

fn check_weight(name: &str, weight: &[f32], shape: [usize; 2]) -> Result<(), CompressError> {
    if shape.contains(&0) || weight.len() != shape[0] * shape[1] {
        return Err(CompressError::Shape {
            name: name.into(),
            shape: shape.to_vec(),
        });
    }
    Ok(())
}
