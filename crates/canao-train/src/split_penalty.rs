//! ADMM / SLR as a training regulariser: the loss carries (rho / 2) ||W - (Z - U)||^2 for every
//! constrained weight, and after each epoch the splitting updates Z and U from the trained
//! weights and their task loss (canao-compress holds the rules).

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use canao_compress::Splitting;

use crate::error::{Result, TrainError};
use crate::params;
use crate::regulariser::{EpochEnd, Proximal, Regulariser, RegulariserState};

#[derive(Debug)]
pub struct SplitPenalty {
    split: Splitting,
    proximal: Proximal,
    device: Device,
    /// The targets changed since the penalty's tensors were last built.
    stale: bool,
}

impl SplitPenalty {
    pub fn new(split: Splitting, device: Device) -> Self {
        let rho = split.rho() as f32;
        Self {
            split,
            proximal: Proximal::new(rho),
            device,
            stale: true,
        }
    }

    pub fn splitting(&self) -> &Splitting {
        &self.split
    }

    fn refresh(&mut self) {
        for (i, layer) in self.split.layers().iter().enumerate() {
            self.proximal
                .set_target(&layer.param, self.split.target(i), &self.device);
        }
        self.stale = false;
    }
}

impl<M: Module> Regulariser<M> for SplitPenalty {
    fn penalty(&mut self, model: &M) -> Option<Tensor<1>> {
        if self.stale {
            self.refresh();
        }
        self.proximal.term(model)
    }

    fn end_epoch(&mut self, end: EpochEnd<'_, M>) -> Result<serde_json::Value> {
        let loss = (end.task_loss)(end.model);
        let report = self.split.update(end.epoch, &params::export(end.model), loss)?;
        self.stale |= report.updated;
        Ok(serde_json::to_value(report).expect("reports serialise"))
    }

    fn state(&self) -> RegulariserState {
        let (tensors, scalars) = self.split.state();
        let mut weights = canao_ir::Weights::new();
        for (name, t) in tensors {
            weights.insert_dense(name, t);
        }
        RegulariserState {
            tensors: weights,
            scalars: serde_json::to_value(scalars).expect("scalars serialise"),
        }
    }

    fn restore(&mut self, state: RegulariserState) -> Result<()> {
        let scalars = serde_json::from_value(state.scalars).map_err(|e| TrainError::Config {
            field: "regulariser".into(),
            detail: format!("the checkpoint holds no ADMM / SLR state ({e})"),
        })?;
        self.split.restore(&state.tensors, scalars)?;
        self.stale = true;
        Ok(())
    }
}
