//! RT3's analytic latency model (ALGORITHMS.md §4), kept so RT3's original reward can be
//! recomputed: latency is the multiplies and adds left after pruning, at a fixed cost each.

use canao_ir::{Graph, Op};

use crate::error::{LatencyError, Result};
use crate::profile::{CostModel, DeviceProfile};

/// Multiplies and adds a graph performs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    pub mul: u64,
    pub add: u64,
}

/// Counts the work RT3's model charges for: every weight product (one multiply and one add per
/// stored non-zero weight per token, plus one add per output for a bias) and every activation
/// product of attention (one multiply and one add per multiply-accumulate). Element-wise ops,
/// norms and softmax are not charged, as in RT3's code. The multiply-accumulates are the IR's
/// (`Cost::macs`, which charges circulant weights as their dense equivalent: RT3 has no such
/// structure).
pub fn count_ops(g: &Graph) -> OpCounts {
    let mut c = OpCounts::default();
    for id in g.topo_order() {
        let node = g.node(id);
        let outputs = node.ty.elements() as u64;
        match &node.op {
            Op::Linear { bias, .. } => {
                let macs = g.node_cost(id).macs;
                c.mul += macs;
                c.add += macs + if bias.is_some() { outputs } else { 0 };
            }
            Op::BiasAdd { .. } => c.add += outputs,
            Op::MatMul { .. } => {
                let macs = g.node_cost(id).macs;
                c.mul += macs;
                c.add += macs;
            }
            _ => {}
        }
    }
    c
}

/// Latency in milliseconds at DVFS level `level`: (mul/1e4 * ms_mul + add/1e4 * ms_add) scaled
/// by reference frequency / level frequency.
pub fn rt3_latency_ms(profile: &DeviceProfile, counts: OpCounts, level: usize) -> Result<f64> {
    let l = profile.level(level)?;
    let CostModel::Analytic {
        ms_per_10k_mul,
        ms_per_10k_add,
        reference_ghz,
    } = profile.model
    else {
        return Err(LatencyError::Model {
            profile: profile.name.clone(),
            kind: profile.model.kind(),
            wanted: "RT3's latency needs the analytic model".into(),
        });
    };
    let at_reference = counts.mul as f64 / 1e4 * ms_per_10k_mul + counts.add as f64 / 1e4 * ms_per_10k_add;
    Ok(at_reference * reference_ghz / l.ghz)
}
