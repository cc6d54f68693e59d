//! The real all-MiniLM-L6-v2 (from the asset cache) exported and checked: the ONNX file run by
//! tract gives canao's embeddings, for the model and for a pruned student of it; a bundle
//! loads back to the same embeddings and refuses damaged files by name.

use std::path::{Path, PathBuf};

use canao_cpu::CpuRuntime;
use canao_export::{load_bundle, minilm_to_onnx, write_bundle};
use canao_ir::{BitMask, Schedule, Sparsity};
use canao_models::{LengthPolicy, MiniLm, StudentArch, StudentLayer};
use tract_onnx::prelude::*;

fn minilm() -> MiniLm {
    let home = canao_models::assets::canao_home();
    let dir = canao_models::assets::ensure(&home, canao_models::assets::Asset::Minilm, &mut |l| eprintln!("{l}"))
        .expect("MiniLM asset");
    MiniLm::load(&dir).unwrap()
}

fn texts() -> Vec<String> {
    [
        "The weather is lovely today.",
        "canao turns block sparsity into speed on small devices.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Three teacher layers, fewer heads and neurons, one layer 60 % block-sparse.
fn student() -> StudentArch {
    let layer = |teacher, heads, ffn, density: f64| StudentLayer {
        teacher,
        heads,
        ffn,
        density,
        block: (density < 1.0).then_some([16, 16]),
    };
    StudentArch {
        layers: vec![layer(0, 12, 1536, 1.0), layer(2, 6, 700, 0.4), layer(5, 9, 1024, 1.0)],
    }
}

/// Max |tract - canao| over the sentence embeddings of `texts()`, run as one padded batch.
fn onnx_vs_canao(model: &MiniLm) -> f32 {
    let bytes = canao_export::encode(&minilm_to_onnx(model).unwrap()).unwrap();
    let runnable = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let enc = model.tokenize(&texts(), LengthPolicy::Refuse).unwrap();
    let seq = enc.iter().map(|e| e.ids.len()).max().unwrap();
    let mut ids = Vec::new();
    let mut mask = Vec::new();
    for e in &enc {
        let pad = seq - e.ids.len();
        ids.extend(e.ids.iter().map(|&i| i64::from(i)).chain(std::iter::repeat_n(0, pad)));
        mask.extend(std::iter::repeat_n(1i64, e.ids.len()).chain(std::iter::repeat_n(0, pad)));
    }
    let t = |v: Vec<i64>| {
        tract_ndarray::Array2::from_shape_vec((enc.len(), seq), v)
            .unwrap()
            .into_tensor()
    };
    let out = runnable.run(tvec!(t(ids).into(), t(mask).into())).unwrap();
    let got = out[1].to_array_view::<f32>().unwrap();
    let want = model
        .embed(&CpuRuntime, &Schedule::default(), &texts(), LengthPolicy::Refuse)
        .unwrap();
    let mut worst = 0.0f32;
    for (b, v) in want.vectors.iter().enumerate() {
        for (j, w) in v.iter().enumerate() {
            worst = worst.max((got[[b, j]] - w).abs());
        }
    }
    worst
}

#[test]
fn exported_minilm_and_a_pruned_student_give_canaos_embeddings_in_tract() {
    let teacher = minilm();
    let worst = onnx_vs_canao(&teacher);
    eprintln!("MiniLM: max |tract - canao| over sentence embeddings {worst:e}");
    assert!(worst < 1e-4, "{worst}");
    let student = teacher.student(&student()).unwrap();
    let worst = onnx_vs_canao(&student);
    eprintln!("pruned student: max |tract - canao| over sentence embeddings {worst:e}");
    assert!(worst < 1e-4, "{worst}");
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("canao-export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn embeddings(model: &MiniLm) -> Vec<Vec<f32>> {
    model
        .embed(&CpuRuntime, &Schedule::default(), &texts(), LengthPolicy::Refuse)
        .unwrap()
        .vectors
}

/// The bundle error for `dir`, which must name `file`.
fn refused(dir: &Path, file: &str, what: &str) {
    let err = load_bundle(dir).expect_err(what).to_string();
    assert!(err.contains(file), "{what}: {err}");
}

#[test]
fn bundle_round_trips_compressed_and_refuses_damage_by_name() {
    let mut model = minilm().student(&student()).unwrap();
    // A pattern-sparse matrix too, so both compressed kinds are stored: [384, 700] in 4x4
    // tiles is a 96 x 175 grid.
    let patterns = vec![
        BitMask((0..16).map(|i| i % 2 == 0).collect()),
        BitMask((0..16).map(|i| i < 4).collect()),
    ];
    let pattern = Sparsity::Pattern {
        block: [4, 4],
        patterns,
        assign: (0..96 * 175).map(|i| (i % 2) as u16).collect(),
    };
    model.set_sparsity("enc.1.ffn.out.w", pattern).unwrap();
    let dir = scratch("bundle");
    write_bundle(&dir, "minilm", &model).unwrap();
    let bundle = load_bundle(&dir).unwrap();
    assert_eq!(bundle.manifest.model, "minilm");
    assert_eq!(bundle.arch.origin.as_ref().unwrap().student, student());
    assert_eq!(embeddings(&bundle.model), embeddings(&model), "same effective weights");

    // Compressed storage: the 40 %-dense q matrix [192, 384] keeps only its kept blocks' values.
    let st_bytes = std::fs::read(dir.join("weights.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&st_bytes).unwrap();
    let values = st.tensor("enc.1.attn.q.w.values").unwrap();
    let nnz = model.graph(1).unwrap().param("enc.1.attn.q.w").unwrap().stored() as usize;
    assert_eq!(values.shape(), [nnz]);
    assert!(nnz < 192 * 384 / 2, "{nnz}");
    assert!(st.tensor("enc.1.attn.q.w").is_err(), "no dense copy");
    assert!(st.tensor("enc.1.ffn.out.w.assign").is_ok());

    // The generated WGSL kernels ship too, each named in the dispatch plan; the student's
    // block-sparse layers get kernels with their masks baked in.
    let shaders: Vec<&String> = bundle
        .manifest
        .files
        .keys()
        .filter(|f| f.starts_with("shaders/") && f.ends_with(".wgsl"))
        .collect();
    assert!(shaders.iter().any(|f| f.contains("block")), "{shaders:?}");
    let plan = std::fs::read_to_string(dir.join("shaders/plan.txt")).unwrap();
    for f in &shaders {
        assert!(plan.contains(f.as_str()), "{f} is not in the plan");
        assert!(std::fs::read_to_string(dir.join(f)).unwrap().contains("@compute"));
    }
    let shader = shaders[0].clone();

    for file in [
        "arch.ron",
        "weights.safetensors",
        "tokenizer.json",
        "shaders/plan.txt",
        &shader,
    ] {
        let path = dir.join(file);
        let original = std::fs::read(&path).unwrap();
        let mut modified = original.clone();
        let mid = modified.len() / 2;
        modified[mid] ^= 0x20;
        std::fs::write(&path, &modified).unwrap();
        refused(&dir, file, "modified");
        std::fs::write(&path, &original[..original.len() - 10]).unwrap();
        refused(&dir, file, "truncated");
        std::fs::remove_file(&path).unwrap();
        refused(&dir, file, "missing");
        std::fs::write(&path, &original).unwrap();
    }
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    refused(&dir, "manifest.json", "no manifest");
    std::fs::remove_dir_all(&dir).ok();
}
