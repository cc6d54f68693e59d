//! Checks of a device profile at load: every field a figure flows from must be in range, so an
//! impossible value (negative watts, zero cores, shares that do not add up) is refused naming
//! the field instead of turning into a silently wrong energy or battery figure later.

use crate::error::{LatencyError, Result};
use crate::profile::{ComputeUnit, CostModel, DeviceProfile, FORMAT_VERSION, Power};

/// Reports the first bad field of one profile.
struct Check<'a> {
    origin: &'a str,
}

impl Check<'_> {
    fn fail(&self, field: impl Into<String>, detail: impl Into<String>) -> Result<()> {
        Err(LatencyError::Field {
            origin: self.origin.into(),
            field: field.into(),
            detail: detail.into(),
        })
    }

    fn positive(&self, field: impl Into<String>, v: f64) -> Result<()> {
        if v.is_finite() && v > 0.0 {
            return Ok(());
        }
        self.fail(field, format!("is {v}, must be a positive number"))
    }

    fn non_negative(&self, field: impl Into<String>, v: f64) -> Result<()> {
        if v.is_finite() && v >= 0.0 {
            return Ok(());
        }
        self.fail(field, format!("is {v}, must be zero or more"))
    }

    fn units(&self, p: &DeviceProfile) -> Result<()> {
        if p.units.is_empty() {
            return self.fail("units", "needs at least one compute unit");
        }
        for (i, u) in p.units.iter().enumerate() {
            let at = |f: &str| format!("units[{i}].{f}");
            let (max_ghz, levels) = match u {
                ComputeUnit::CpuCluster {
                    cores,
                    max_ghz,
                    levels_ghz,
                    ..
                } => {
                    if *cores == 0 {
                        self.fail(at("cores"), "is 0, a cluster has at least one core")?;
                    }
                    (*max_ghz, levels_ghz)
                }
                ComputeUnit::Gpu {
                    max_ghz,
                    levels_ghz,
                    peak_gflops,
                    ..
                } => {
                    if let Some(g) = peak_gflops {
                        self.positive(at("peak_gflops"), *g)?;
                    }
                    (*max_ghz, levels_ghz)
                }
            };
            self.positive(at("max_ghz"), max_ghz)?;
            for (k, &f) in levels.iter().enumerate() {
                self.positive(format!("units[{i}].levels_ghz[{k}]"), f)?;
            }
        }
        Ok(())
    }

    fn dvfs(&self, p: &DeviceProfile) -> Result<()> {
        if p.dvfs.is_empty() {
            return self.fail("dvfs", "needs at least one level");
        }
        for (i, l) in p.dvfs.iter().enumerate() {
            let at = |f: &str| format!("dvfs[{i}].{f}");
            self.positive(at("ghz"), l.ghz)?;
            if let Some(v) = l.volts {
                self.positive(at("volts"), v)?;
            }
            if let Some(ms) = l.limit_ms {
                self.positive(at("limit_ms"), ms)?;
            }
            match l.power {
                Power::Switched {
                    nanofarads,
                    static_watts,
                } => {
                    if l.volts.is_none() {
                        self.fail(at("volts"), "switched-capacitance power needs a voltage")?;
                    }
                    self.non_negative(at("power.nanofarads"), nanofarads)?;
                    self.non_negative(at("power.static_watts"), static_watts)?;
                }
                Power::Watts(w) => self.positive(at("power"), w)?,
            }
            // Energy per run and runs per battery divide by and multiply with it.
            self.positive(at("power"), l.watts())?;
        }
        Ok(())
    }

    fn battery(&self, p: &DeviceProfile) -> Result<()> {
        let Some(b) = &p.battery else { return Ok(()) };
        self.positive("battery.joules", b.joules)?;
        for (i, &s) in b.shares.iter().enumerate() {
            self.non_negative(format!("battery.shares[{i}]"), s)?;
        }
        if b.shares.len() != p.dvfs.len() || (b.shares.iter().sum::<f64>() - 1.0).abs() > 1e-9 {
            return self.fail("battery.shares", "needs one share per DVFS level, summing to 1");
        }
        Ok(())
    }

    fn model(&self, p: &DeviceProfile) -> Result<()> {
        match &p.model {
            CostModel::Analytic {
                ms_per_10k_mul,
                ms_per_10k_add,
                reference_ghz,
            } => {
                self.non_negative("model.ms_per_10k_mul", *ms_per_10k_mul)?;
                self.non_negative("model.ms_per_10k_add", *ms_per_10k_add)?;
                self.positive("model.reference_ghz", *reference_ghz)?;
                // Unused by the analytic model, so 0 (unknown) is allowed.
                self.non_negative("memory.bandwidth_gbs", p.memory.bandwidth_gbs)
            }
            CostModel::Fitted(f) => {
                f.validate(self.origin)?;
                // A fitted model scales memory-bound terms by it.
                self.positive("memory.bandwidth_gbs", p.memory.bandwidth_gbs)
            }
        }
    }
}

impl DeviceProfile {
    pub(crate) fn validate(&self, origin: &str) -> Result<()> {
        let check = Check { origin };
        if self.version != FORMAT_VERSION {
            return check.fail(
                "version",
                format!("is {}, this build reads {FORMAT_VERSION}", self.version),
            );
        }
        if self.name.trim().is_empty() {
            return check.fail("name", "must not be empty");
        }
        check.units(self)?;
        check.dvfs(self)?;
        check.battery(self)?;
        check.model(self)?;
        if self.provenance.is_empty() {
            return check.fail("provenance", "every profile says where its figures come from");
        }
        Ok(())
    }
}
