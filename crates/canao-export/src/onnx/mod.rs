//! ONNX export (opset 17): the IR graph with its weights as initializers, batch and sequence
//! axes dynamic. See `lower` for how canao's batch-1 graph maps onto ONNX nodes.

mod lower;
mod proto;

use std::path::Path;

use canao_ir::{Graph, Weights};
use canao_models::MiniLm;
use onnx_protobuf::{GraphProto, Message, ModelProto, OperatorSetIdProto};

use crate::atomic;
use crate::error::{ExportError, Result};

/// The operator set the export targets: the first with `LayerNormalization`.
pub const OPSET: i64 = 17;
/// ONNX IR version 8 is the one opset 17 was released with (ONNX 1.12).
const IR_VERSION: i64 = 8;

/// Output names of a BERT-family encoder export, in the order `BertArch::build` emits them.
pub const BERT_OUTPUTS: [&str; 2] = ["last_hidden_state", "sentence_embedding"];

/// The ONNX model of `graph` with `weights`, its outputs named `outputs` in order. Removed
/// layers, heads and neurons are simply absent from the (smaller) graph; block- and
/// pattern-sparse weights are stored dense with their zeros, circulant ones as the dense
/// circulant matrix, so that any ONNX runtime loads them.
pub fn to_onnx(graph: &Graph, weights: &Weights, outputs: &[&str]) -> Result<ModelProto> {
    let l = lower::lower(graph, weights, outputs)?;
    Ok(ModelProto {
        ir_version: IR_VERSION,
        producer_name: "canao".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
            ..Default::default()
        }],
        graph: Some(GraphProto {
            name: graph.name().to_string(),
            node: l.nodes,
            initializer: l.initializers,
            input: l.inputs,
            output: l.outputs,
            ..Default::default()
        })
        .into(),
        ..Default::default()
    })
}

/// The model's protobuf bytes.
pub fn encode(model: &ModelProto) -> Result<Vec<u8>> {
    model.write_to_bytes().map_err(|e| ExportError::Protobuf(e.to_string()))
}

/// Writes `model` to `path` through a temporary file, so a failure leaves no partial file.
pub fn write_onnx(path: &Path, model: &ModelProto) -> Result<()> {
    atomic::write_file(path, &encode(model)?)
}

/// The ONNX model of a MiniLM-style encoder (any student or sparsity it carries), with inputs
/// `input_ids` and `attention_mask` and outputs [`BERT_OUTPUTS`].
pub fn minilm_to_onnx(model: &MiniLm) -> Result<ModelProto> {
    // The graph's own sequence length is irrelevant: the export makes it dynamic.
    to_onnx(&model.graph(1)?, model.weights(), &BERT_OUTPUTS)
}
