//! Writes the generated seeds of the fuzzing corpora (`fuzz/corpus/<target>/seed-*`): inputs that
//! parse, so that fuzzing starts inside each format rather than at its first byte. The shipped
//! RON files and IR text are copied by `scripts/fuzz.sh`; these need building:
//! `cargo run -p canao-fuzz --example seeds`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use canao_ir::Weights;
use canao_tensor::{Tensor, write_safetensors};
use rand::SeedableRng;

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The tiny BERT with random weights, one matrix block-sparse.
fn tiny_model() -> (canao_ir::Graph, Weights) {
    let mut graph = canao_fuzz::tiny_bert().build().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let weights = canao_interp::random::random_weights(&graph, &mut rng);
    let name = "enc.0.attn.q.w";
    let s = canao_compress::block_magnitude(name, weights.dense(name).unwrap(), [4, 4], 0.5).unwrap();
    graph.set_sparsity(name, s).unwrap();
    (graph, weights)
}

fn main() {
    let (graph, weights) = tiny_model();

    // A bundle's arch.ron and weights, as the `bundle` target splits its input.
    let (arch, bytes) =
        canao_export::bundle::encode(&graph, &weights, canao_fuzz::tiny_bert().with_seq(1), None).unwrap();
    let decoded = canao_export::bundle::decode(&arch, &bytes).unwrap();
    assert_eq!(decoded.sparsity.len(), 1, "the sparse matrix comes back sparse");
    let mut seed = arch.into_bytes();
    seed.push(0);
    seed.extend(bytes);
    std::fs::write(corpus("bundle").join("seed-tiny-bert"), seed).unwrap();

    // Hugging Face-named weights of the same model, as `MiniLm` reads them.
    let tensors: BTreeMap<String, Tensor> = graph
        .params()
        .keys()
        .filter_map(|p| Some((canao_models::hf_name(p)?, weights.dense(p).unwrap().clone())))
        .collect();
    let path = corpus("safetensors").join("seed-tiny-bert");
    write_safetensors(&path, &tensors).unwrap();
    let file = canao_tensor::SafetensorsFile::open(&path).unwrap();
    canao_models::bind_bert_weights(&canao_fuzz::tiny_bert().build().unwrap(), &file).expect("the seed binds");

    // A 6-node citation graph and a flips list for the target's 6-node graph.
    let features: Vec<u8> = (0..6 * 4).map(|k| u8::from(k % 3 == 0)).collect();
    let ds = canao_gnn::Dataset {
        name: "seed".into(),
        graph: canao_gnn::Graph::new(6, [(0, 1), (1, 2), (2, 3), (4, 5)]).unwrap(),
        features: canao_gnn::features::Features::from_dense_binary(6, 4, &features),
        labels: vec![Some(0), Some(1), Some(0), Some(1), Some(0), None],
        classes: 2,
        train: vec![0, 1],
        val: vec![2],
        test: vec![3, 4],
        edge_layout: canao_gnn::dataset::EdgeLayout::Rows,
    };
    let path = std::env::temp_dir().join(format!("canao-seed-{}.safetensors", std::process::id()));
    ds.save(&path).unwrap();
    let mut seed = vec![0u8];
    seed.extend(std::fs::read(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
    canao_gnn::Dataset::from_bytes(&path, &seed[1..]).expect("the seed loads");
    std::fs::write(corpus("gnn").join("seed-graph"), seed).unwrap();
    std::fs::write(corpus("gnn").join("seed-flips"), b"\x01u,v\n0,2\n4,5\n").unwrap();
    println!("seeds written under fuzz/corpus/");
}
