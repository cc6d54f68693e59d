//! A space as a fixed-length decision vector, the form every strategy works on: per teacher layer
//! whether it is kept, then the index of its heads, FFN width, density and block shape in the
//! space's lists. Strategies see only choice indices; `decode` turns any vector into a student
//! inside the space.

use canao_models::{StudentArch, StudentLayer};

use crate::space::SearchSpace;

/// Decisions per teacher layer: keep, heads, ffn, density, block.
const PER_LAYER: usize = 5;

impl SearchSpace {
    /// How many choices each decision has (every entry is at least 1).
    pub fn cardinalities(&self) -> Vec<usize> {
        let per_layer = [
            2,
            self.heads.len(),
            self.ffn.len(),
            self.density.len(),
            self.block.len().max(1),
        ];
        (0..self.teacher_arch().layers.len()).flat_map(|_| per_layer).collect()
    }

    /// The student a decision vector describes. Any vector of the right length decodes to a
    /// student inside the space: indices are taken modulo their list, and a keep pattern with too
    /// few layers keeps the lowest-numbered dropped ones too (too many drops the highest kept),
    /// so strategies never produce an invalid point. A vector of another length is an error.
    pub fn decode(&self, point: &[usize]) -> crate::Result<StudentArch> {
        let n = self.teacher_arch().layers.len();
        if point.len() != n * PER_LAYER {
            return Err(crate::SearchError::Point {
                point: point.to_vec(),
                detail: format!("has {} decisions; this space has {}", point.len(), n * PER_LAYER),
            });
        }
        let at = |layer: usize, k: usize| point[layer * PER_LAYER + k];
        let mut keep: Vec<bool> = (0..n).map(|l| at(l, 0) % 2 == 1).collect();
        let (lo, hi) = self.layers;
        for l in 0..n {
            if keep.iter().filter(|k| **k).count() >= lo {
                break;
            }
            keep[l] = true;
        }
        for l in (0..n).rev() {
            if keep.iter().filter(|k| **k).count() <= hi {
                break;
            }
            keep[l] = false;
        }
        let layers = (0..n)
            .filter(|&l| keep[l])
            .map(|l| {
                let density = self.density[at(l, 3) % self.density.len()];
                StudentLayer {
                    teacher: l,
                    heads: self.heads[at(l, 1) % self.heads.len()],
                    ffn: self.ffn[at(l, 2) % self.ffn.len()],
                    density,
                    block: (density < 1.0).then(|| self.block[at(l, 4) % self.block.len()]),
                }
            })
            .collect();
        Ok(StudentArch { layers })
    }

    /// The canonical decision vector of a student of this space (choices a student does not
    /// use, such as the block of a dense layer or anything of a dropped layer, are 0), so that
    /// `encode(decode(p))` names each student once. The student must be inside the space.
    pub fn encode(&self, student: &StudentArch) -> crate::Result<Vec<usize>> {
        self.contains(student)?;
        let n = self.teacher_arch().layers.len();
        let mut point = vec![0; n * PER_LAYER];
        let index = |found: Option<usize>| found.expect("checked by contains");
        for l in &student.layers {
            let p = &mut point[l.teacher * PER_LAYER..(l.teacher + 1) * PER_LAYER];
            p[0] = 1;
            p[1] = index(self.heads.iter().position(|h| *h == l.heads));
            p[2] = index(self.ffn.iter().position(|f| *f == l.ffn));
            p[3] = index(self.density.iter().position(|d| (d - l.density).abs() < 1e-9));
            if l.density < 1.0 {
                p[4] = index(l.block.and_then(|b| self.block.iter().position(|x| *x == b)));
            }
        }
        Ok(point)
    }
}
