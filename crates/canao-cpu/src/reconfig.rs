//! RT3's run-time reconfiguration on the CPU backend: one prepared plan holding a packed weight
//! set per DVFS level (each level's graph differs only in its weights' sparsity), and a switch
//! that swaps the active set in place: no packing, planning or allocation at switch time.

use canao_ir::{Graph, Schedule, Weights};

use crate::error::{CpuError, Result};
use crate::exec::{CpuExe, CpuRuntime};
use crate::isa::Isa;
use crate::pack::PackedWeight;
use crate::plan::Step;

/// A prepared model with one weight set per level; run it through [`Self::exe`].
#[derive(Debug)]
pub struct Reconfigurable {
    exe: CpuExe,
    /// `sets[level][k]` is the k-th weight step's packed weight at `level`, `None` for the
    /// active level's (its weights are in the plan).
    sets: Vec<Vec<Option<PackedWeight>>>,
    active: usize,
}

impl Reconfigurable {
    /// Prepares `levels` (the same model under each level's sparsity); level 0 starts active.
    pub fn prepare(levels: &[Graph], weights: &Weights, schedule: &Schedule, isa: Isa) -> Result<Self> {
        let (first, rest) = levels.split_first().ok_or_else(|| CpuError::Run {
            node: "reconfigurable model".into(),
            detail: "needs at least one level".into(),
        })?;
        let at = |level: usize, graph: &Graph| {
            CpuRuntime
                .prepare_isa(graph, weights, schedule, isa)
                .map_err(|e| CpuError::Run {
                    node: format!("reconfigurable model, level {level}"),
                    detail: e.to_string(),
                })
        };
        let mut exe = at(0, first)?;
        let mut sets = vec![vec![None; weight_steps(&exe.plan.steps).count()]];
        for (l, graph) in rest.iter().enumerate() {
            let other = at(l + 1, graph)?;
            check_same_plan(&exe, &other, l + 1)?;
            let CpuExe { plan, scratch, .. } = other;
            // A format may need more scratch than level 0's: size for the largest, now.
            if scratch.len() > exe.scratch.len() {
                exe.scratch = scratch;
            }
            sets.push(
                plan.steps
                    .into_iter()
                    .filter_map(|s| match s {
                        Step::Weight { w, .. } | Step::Conv { w, .. } => Some(Some(w)),
                        _ => None,
                    })
                    .collect(),
            );
        }
        Ok(Self { exe, sets, active: 0 })
    }

    pub fn levels(&self) -> usize {
        self.sets.len()
    }

    pub fn active(&self) -> usize {
        self.active
    }

    /// Makes `level`'s weights the ones the plan runs with.
    pub fn switch(&mut self, level: usize) -> Result<()> {
        if level >= self.sets.len() {
            return Err(CpuError::Run {
                node: "reconfigurable model".into(),
                detail: format!("level {level} out of range: it has {} levels", self.sets.len()),
            });
        }
        if level == self.active {
            return Ok(());
        }
        let [from, to] = self
            .sets
            .get_disjoint_mut([self.active, level])
            .expect("distinct levels in range");
        for ((w, back), next) in weight_steps_mut(&mut self.exe.plan.steps).zip(from).zip(to) {
            *back = Some(std::mem::replace(
                w,
                next.take().expect("an inactive level holds its set"),
            ));
        }
        self.active = level;
        Ok(())
    }

    /// The plan, running the active level's weights.
    pub fn exe(&mut self) -> &mut CpuExe {
        &mut self.exe
    }

    /// Bytes of packed weights each level holds (the plan's own for the active one): what the
    /// extra sets cost against a single model.
    pub fn packed_bytes(&self) -> Vec<usize> {
        let active: usize = weight_steps(&self.exe.plan.steps).map(PackedWeight::packed_bytes).sum();
        self.sets
            .iter()
            .enumerate()
            .map(|(l, set)| {
                if l == self.active {
                    active
                } else {
                    set.iter().flatten().map(PackedWeight::packed_bytes).sum()
                }
            })
            .collect()
    }
}

fn weight_steps(steps: &[Step]) -> impl Iterator<Item = &PackedWeight> {
    steps.iter().filter_map(|s| match s {
        Step::Weight { w, .. } | Step::Conv { w, .. } => Some(w),
        _ => None,
    })
}

fn weight_steps_mut(steps: &mut [Step]) -> impl Iterator<Item = &mut PackedWeight> {
    steps.iter_mut().filter_map(|s| match s {
        Step::Weight { w, .. } | Step::Conv { w, .. } => Some(w),
        _ => None,
    })
}

/// Level `level`'s plan must be level 0's step for step, weights aside.
fn check_same_plan(base: &CpuExe, other: &CpuExe, level: usize) -> Result<()> {
    let differs = |detail: String| CpuError::Run {
        node: format!("reconfigurable model, level {level}"),
        detail: format!("{detail}: every level must be the same model under other sparsity"),
    };
    let (a, b) = (&base.plan, &other.plan);
    if a.steps.len() != b.steps.len() || a.buffer_sizes != b.buffer_sizes {
        return Err(differs(format!(
            "its plan has {} steps over buffers {:?}, level 0's {} over {:?}",
            b.steps.len(),
            b.buffer_sizes,
            a.steps.len(),
            a.buffer_sizes
        )));
    }
    for (i, (x, y)) in a.steps.iter().zip(&b.steps).enumerate() {
        let same = match (x, y) {
            (
                Step::Weight { w: p, .. } | Step::Conv { w: p, .. },
                Step::Weight { w: q, .. } | Step::Conv { w: q, .. },
            ) => p.rows() == q.rows() && p.cols() == q.cols() && std::mem::discriminant(x) == std::mem::discriminant(y),
            _ => x.class() == y.class(),
        };
        if !same || x.reads() != y.reads() || x.writes() != y.writes() {
            return Err(differs(format!(
                "step {i} is {} here, {} at level 0",
                y.class(),
                x.class()
            )));
        }
    }
    Ok(())
}
