//! Damaged assets and weight files give errors that name the file or tensor and the repair.

use std::collections::BTreeMap;
use std::path::PathBuf;

use canao_ir::builders::{BertArch, BertLayer};
use canao_models::{NnError, assets, bind_bert_weights, hf_name};
use canao_tensor::{SafetensorsFile, Tensor, write_safetensors};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("canao-damaged-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn missing_and_corrupt_assets_name_the_file_and_the_repair() {
    let home = scratch("home");
    let dir = home.join("digits");
    let err = assets::verify(&home, assets::Asset::Digits).unwrap_err().to_string();
    assert!(
        err.contains("digits.csv.gz") && err.contains("canao assets fetch digits"),
        "{err}"
    );
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("digits.csv.gz"), b"not the digits").unwrap();
    let err = assets::ensure(&home, assets::Asset::Digits, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("digits.csv.gz") && err.contains("corrupt") && err.contains("canao assets fetch digits"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&home);
}

fn tiny() -> BertArch {
    BertArch {
        vocab: 9,
        max_positions: 6,
        type_vocab: 2,
        seq: 4,
        hidden: 4,
        head_dim: 2,
        layer_norm_eps: 1e-12,
        layers: vec![BertLayer {
            hidden: 4,
            heads: 2,
            ffn: 3,
        }],
    }
}

/// A checkpoint with Hugging Face names for the tiny graph, after `edit`.
fn checkpoint(edit: impl FnOnce(&mut BTreeMap<String, Tensor>)) -> Result<canao_ir::Weights, NnError> {
    let g = tiny().build().unwrap();
    let mut m: BTreeMap<String, Tensor> = g
        .params()
        .iter()
        .map(|(p, spec)| (hf_name(p).unwrap(), Tensor::zeros(spec.shape.clone())))
        .collect();
    m.insert("pooler.dense.bias".into(), Tensor::zeros(vec![4]));
    edit(&mut m);
    let dir = scratch("ckpt");
    let path = dir.join("model.safetensors");
    write_safetensors(&path, &m).unwrap();
    let r = bind_bert_weights(&g, &SafetensorsFile::open(&path).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    r
}

#[test]
fn missing_extra_and_misshaped_tensors_are_named() {
    assert_eq!(
        checkpoint(|_| {}).unwrap().len(),
        tiny().build().unwrap().params().len()
    );
    let err = checkpoint(|m| {
        m.remove("encoder.layer.0.attention.self.key.bias");
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("encoder.layer.0.attention.self.key.bias") && err.contains("@enc.0.attn.k.b"),
        "{err}"
    );
    let err = checkpoint(|m| {
        m.insert("encoder.layer.1.output.dense.weight".into(), Tensor::zeros(vec![1]));
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("encoder.layer.1.output.dense.weight") && err.contains("does not use"),
        "{err}"
    );
    let err = checkpoint(|m| {
        m.insert(
            "encoder.layer.0.intermediate.dense.weight".into(),
            Tensor::zeros(vec![4, 3]),
        );
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("intermediate.dense.weight") && err.contains("[4, 3]") && err.contains("[3, 4]"),
        "{err}"
    );
}

#[test]
fn truncated_weight_file_is_refused_by_name() {
    let dir = scratch("trunc");
    let path = dir.join("model.safetensors");
    let mut m = BTreeMap::new();
    m.insert("a".to_string(), Tensor::zeros(vec![64]));
    write_safetensors(&path, &m).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let err = SafetensorsFile::open(&path).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
