use canao_ir::{Graph, Weights};
use canao_tensor::SafetensorsFile;

use crate::error::{NnError, Result};

/// Tensors a Hugging Face BERT checkpoint carries that a sentence encoder does not use.
const UNUSED: &[&str] = &["embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"];

/// The Hugging Face BERT tensor name for a canao BERT parameter name.
pub fn hf_name(param: &str) -> Option<String> {
    let fixed = match param {
        "emb.word" => Some("embeddings.word_embeddings.weight"),
        "emb.pos" => Some("embeddings.position_embeddings.weight"),
        "emb.type" => Some("embeddings.token_type_embeddings.weight"),
        "emb.ln.g" => Some("embeddings.LayerNorm.weight"),
        "emb.ln.b" => Some("embeddings.LayerNorm.bias"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_string());
    }
    let rest = param.strip_prefix("enc.")?;
    let (layer, part) = rest.split_once('.')?;
    layer.parse::<usize>().ok()?;
    let hf = match part {
        "attn.q.w" => "attention.self.query.weight",
        "attn.q.b" => "attention.self.query.bias",
        "attn.k.w" => "attention.self.key.weight",
        "attn.k.b" => "attention.self.key.bias",
        "attn.v.w" => "attention.self.value.weight",
        "attn.v.b" => "attention.self.value.bias",
        "attn.o.w" => "attention.output.dense.weight",
        "attn.o.b" => "attention.output.dense.bias",
        "attn.ln.g" => "attention.output.LayerNorm.weight",
        "attn.ln.b" => "attention.output.LayerNorm.bias",
        "ffn.in.w" => "intermediate.dense.weight",
        "ffn.in.b" => "intermediate.dense.bias",
        "ffn.out.w" => "output.dense.weight",
        "ffn.out.b" => "output.dense.bias",
        "ffn.ln.g" => "output.LayerNorm.weight",
        "ffn.ln.b" => "output.LayerNorm.bias",
        _ => return None,
    };
    Some(format!("encoder.layer.{layer}.{hf}"))
}

/// Binds every parameter of a BERT graph to its tensor in a Hugging Face safetensors file.
/// A tensor the graph needs but the file lacks, one of the wrong shape, or one the file has
/// but nothing uses (other than the known-unused pooler) is an error naming the tensor.
pub fn bind_bert_weights(graph: &Graph, file: &SafetensorsFile) -> Result<Weights> {
    let path = file.path().to_path_buf();
    let infos = file.infos();
    let mut weights = Weights::new();
    let mut used = std::collections::BTreeSet::new();
    for (param, spec) in graph.params() {
        let tensor = hf_name(param).ok_or_else(|| NnError::MissingTensor {
            file: path.clone(),
            tensor: "(no Hugging Face name)".into(),
            param: param.clone(),
        })?;
        let info = infos.get(&tensor).ok_or_else(|| NnError::MissingTensor {
            file: path.clone(),
            tensor: tensor.clone(),
            param: param.clone(),
        })?;
        if info.shape != spec.shape {
            return Err(NnError::MisshapedTensor {
                file: path.clone(),
                tensor,
                expected: spec.shape.clone(),
                got: info.shape.clone(),
            });
        }
        weights.insert_dense(param.clone(), file.tensor(&tensor)?);
        used.insert(tensor);
    }
    if let Some(extra) = infos
        .keys()
        .find(|k| !used.contains(*k) && !UNUSED.contains(&k.as_str()))
    {
        return Err(NnError::ExtraTensor {
            file: path,
            tensor: extra.clone(),
        });
    }
    Ok(weights)
}
