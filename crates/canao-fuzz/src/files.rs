//! Binary and line-oriented files: safetensors weights, bundles, search logs, citation graphs
//! and their edge-flip lists.

use std::path::{Path, PathBuf};

use canao_ir::builders::{BertArch, BertLayer};
use canao_tensor::SafetensorsFile;

/// A BERT small enough to bind fuzzed weights to: width 8, 2 heads of 4, FFN 12, 16 tokens.
pub fn tiny_bert() -> BertArch {
    BertArch {
        vocab: 16,
        max_positions: 16,
        type_vocab: 2,
        seq: 4,
        hidden: 8,
        head_dim: 4,
        layer_norm_eps: 1e-12,
        layers: vec![
            BertLayer {
                hidden: 8,
                heads: 2,
                ffn: 12,
            };
            2
        ],
    }
}

/// A weights file as `MiniLm` reads it: header, every tensor, then bound to a BERT graph.
pub fn safetensors(data: &[u8]) {
    let Ok(file) = SafetensorsFile::from_bytes(PathBuf::from("fuzz.safetensors"), data.to_vec()) else {
        return;
    };
    for name in file.infos().keys() {
        let _ = file.tensor(name);
    }
    let graph = tiny_bert().build().expect("a valid architecture");
    let _ = canao_models::bind_bert_weights(&graph, &file);
}

/// A bundle's `arch.ron` and weights file, given as the arch text, a zero byte, then the
/// weights; and the input whole as its `manifest.json`.
pub fn bundle(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = canao_export::bundle::Manifest::from_json(text);
    }
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let Ok(arch) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let _ = canao_export::bundle::decode(arch, &data[split + 1..]);
}

/// A scratch file of this process holding `data`, for the parsers that read paths.
fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("canao-fuzz-{}-{name}", std::process::id()));
    std::fs::write(&path, data).expect("the temporary folder is writable");
    path
}

/// A search log as `canao search --resume` reads it (and truncates to its whole lines).
pub fn search_log(data: &[u8]) {
    let path = scratch("log.jsonl", data);
    if let Ok((_, records)) = canao_search::SearchLog::resume(&path) {
        let kept = std::fs::metadata(&path).expect("the log is still there").len();
        assert!(kept <= data.len() as u64, "resume grew the log");
        let _ = records.len();
    }
    let _ = std::fs::remove_file(&path);
}

/// The first byte picks what the rest is: a citation graph file (even) or a flips list for a
/// 6-node graph (odd).
pub fn gnn(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let path = Path::new("fuzz.bin");
    if pick % 2 == 0 {
        if let Ok(d) = canao_gnn::Dataset::from_bytes(path, rest) {
            let _ = canao_gnn::Adjacency::new(&d.graph);
        }
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let graph = canao_gnn::Graph::new(6, [(0, 1), (1, 2), (3, 4)]).expect("a valid graph");
    if let Ok(flips) = canao_gnn::flips::parse(text, path, &graph) {
        graph.flipped(&flips).expect("parsed flips apply to their graph");
    }
}
