//! A trained GCN as canao IR: the `GcnArch` graph and its weights under the IR's names
//! (`gc1.w` is the transposed W1, `adj` the normalised adjacency in CSR), so it runs on the
//! interpreter, CPU and wgpu backends and is saved as safetensors.

use std::collections::BTreeMap;

use canao_ir::builders::GcnArch;
use canao_ir::{Graph, ParamValue, Weights};
use canao_tensor::Tensor;

use crate::adjacency::Adjacency;
use crate::error::{GnnError, Result};
use crate::features::Features;
use crate::gcn::Gcn;

/// The IR graph, its weights and the `features` input of `model` over `adj`.
pub fn to_ir(model: &Gcn, adj: &Adjacency, x: &Features) -> Result<(Graph, Weights, BTreeMap<String, Tensor>)> {
    let d = model.dims;
    let arch = GcnArch {
        nodes: adj.nodes(),
        features: d.features,
        hidden: d.hidden,
        classes: d.classes,
        nnz: adj.nnz(),
    };
    let graph = arch.build().map_err(|e| GnnError::Shape(e.to_string()))?;
    let tensor =
        |shape: Vec<usize>, data: Vec<f32>| Tensor::new(shape, data).map_err(|e| GnnError::Shape(e.to_string()));
    let mut w = Weights::new();
    w.insert_dense(
        "gc1.w",
        tensor(vec![d.hidden, d.features], transpose(&model.w1, d.features, d.hidden))?,
    );
    w.insert_dense("gc1.b", tensor(vec![d.hidden], model.b1.clone())?);
    w.insert_dense(
        "gc2.w",
        tensor(vec![d.classes, d.hidden], transpose(&model.w2, d.hidden, d.classes))?,
    );
    w.insert_dense("gc2.b", tensor(vec![d.classes], model.b2.clone())?);
    w.insert("adj", ParamValue::Csr(adj.to_csr()));
    w.check_against(&graph).map_err(|e| GnnError::Shape(e.to_string()))?;
    let inputs = BTreeMap::from([("features".to_string(), tensor(vec![x.nodes(), x.dims()], x.to_dense())?)]);
    Ok((graph, w, inputs))
}

/// [rows, cols] row-major to [cols, rows].
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| m[r * cols + c]))
        .collect()
}
