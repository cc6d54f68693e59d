use std::collections::BTreeMap;
use std::ops::AddAssign;

use serde::Serialize;

/// Work of one op: FLOPs (a multiply-add counts 2), bytes moved (inputs read, output written,
/// parameters read in their stored form, all f32) and parameters stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cost {
    pub flops: u64,
    /// Multiply-accumulates of the op's products as the graph writes them: a weight's non-zeros
    /// (a circulant weight counted as the dense matrix it stands for) or an activation product's
    /// inner dimension, per output. What RT3's analytic latency charges (`canao_latency::count_ops`);
    /// `flops` counts the route a kernel takes instead (a circulant layer's FFTs).
    pub macs: u64,
    pub bytes: u64,
    pub params: u64,
}

impl AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        self.flops += o.flops;
        self.macs += o.macs;
        self.bytes += o.bytes;
        self.params += o.params;
    }
}

/// A graph's cost, in total and per op kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GraphCost {
    pub nodes: usize,
    pub total: Cost,
    /// Parameters declared by the graph (a parameter used by two ops counts once).
    pub params: u64,
    pub by_kind: BTreeMap<String, KindCost>,
}

/// Cost summed over all nodes of one op kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct KindCost {
    pub count: usize,
    pub cost: Cost,
}
