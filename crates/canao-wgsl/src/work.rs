//! What each dispatch of a plan does, in the IR's work schema (`canao_ir::Work`), so a latency
//! model fitted on GPU timings could predict WGSL plans as it predicts the CPU's. A kernel
//! carries its class and the counts only its shapes tell (multiply-accumulates,
//! transcendentals); the call, the elements written and the bytes of every bound buffer are
//! added here from the plan's values and parameters.

use canao_ir::{KernelClass, StepWork, Work};

use crate::lower::{Arg, Data, Plan};

impl Data {
    /// Bytes uploaded (f32 and u32 alike).
    pub fn bytes(&self) -> usize {
        4 * match self {
            Data::F32(v) => v.len(),
            Data::U32(v) => v.len(),
        }
    }
}

impl Plan {
    /// Each dispatch's work in plan order (the order a profiled run times them), then one `io`
    /// entry: uploading the inputs and reading the outputs back.
    pub fn work(&self) -> Vec<StepWork> {
        let mut work: Vec<StepWork> = self
            .steps
            .iter()
            .map(|s| {
                let (mut weight_bytes, mut act_bytes) = (0, 0);
                for a in &s.args {
                    match a {
                        Arg::Param(p) => weight_bytes += self.params[*p].bytes(),
                        Arg::Value(v) => act_bytes += 4 * self.values[*v],
                    }
                }
                let written = match s.args.last() {
                    Some(Arg::Value(v)) => self.values[*v],
                    _ => 0,
                };
                StepWork {
                    class: s.kernel.class,
                    work: Work {
                        calls: 1.0,
                        elements: written as f64,
                        weight_bytes: weight_bytes as f64,
                        act_bytes: act_bytes as f64,
                        ..s.kernel.work
                    },
                }
            })
            .collect();
        let io: usize = self.inputs.iter().map(|(_, t, _)| t.elements()).sum::<usize>()
            + self.outputs.iter().map(|(v, _)| self.values[*v]).sum::<usize>();
        work.push(StepWork {
            class: KernelClass::Io,
            work: Work {
                elements: io as f64,
                act_bytes: 4.0 * io as f64,
                ..Work::call()
            },
        });
        work
    }
}
