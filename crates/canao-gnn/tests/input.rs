//! Dataset and perturbation files: the shipped graphs load with their documented sizes, and bad
//! files get errors that name the tensor or line.

mod common;

use canao_gnn::dataset::EdgeLayout;
use canao_gnn::{Dataset, GnnError, flips};

#[test]
fn shipped_graphs_have_their_documented_sizes() {
    for (name, nodes, edges, classes, train) in [("cora", 2708, 5278, 7, 140), ("citeseer", 3327, 4552, 6, 120)] {
        let d = Dataset::load(&common::shared_dataset(name)).unwrap();
        assert_eq!(
            (d.nodes(), d.graph.edge_count(), d.classes),
            (nodes, edges, classes),
            "{name}"
        );
        assert_eq!((d.train.len(), d.val.len(), d.test.len()), (train, 500, 1000), "{name}");
        // The shipped files hold (u, v) pairs under a [2, E] header (see EdgeLayout).
        assert_eq!(d.edge_layout, EdgeLayout::Pairs, "{name}");
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("canao-gnn-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_saved_dataset_loads_back_in_the_declared_layout() {
    let d = common::random_dataset(20, 30, 5, 3, 1);
    let path = tmp("round.safetensors");
    d.save(&path).unwrap();
    let back = Dataset::load(&path).unwrap();
    assert_eq!(back.graph, d.graph);
    assert_eq!(back.edge_layout, EdgeLayout::Rows);
    assert_eq!(
        (back.train, back.labels, back.features),
        (d.train, d.labels, d.features)
    );
}

/// Rewrites one tensor of a saved random dataset and returns the load error's text.
fn load_error(edit: impl FnOnce(&mut Dataset)) -> String {
    let mut d = common::random_dataset(20, 30, 5, 3, 2);
    edit(&mut d);
    let path = tmp("bad.safetensors");
    d.save(&path).unwrap();
    match Dataset::load(&path) {
        Err(e @ GnnError::Dataset { .. }) => e.to_string(),
        other => panic!("expected a dataset error, got {other:?}"),
    }
}

#[test]
fn bad_datasets_name_the_tensor_and_row() {
    let e = load_error(|d| d.labels[4] = None);
    assert!(
        e.contains("train_mask") && e.contains("row 4") && e.contains("unlabeled"),
        "{e}"
    );
    let e = load_error(|d| d.test.clear());
    assert!(e.contains("test_mask") && e.contains("no node"), "{e}");
    let e = load_error(|d| d.labels.iter_mut().for_each(|l| *l = Some(0)));
    assert!(e.contains("labels") && e.contains("two classes"), "{e}");
    let missing = std::env::temp_dir().join("canao-gnn-no-such-file.safetensors");
    assert!(matches!(Dataset::load(&missing), Err(GnnError::Io { .. })));
    let path = tmp("garbage.safetensors");
    std::fs::write(&path, b"not a safetensors file").unwrap();
    let e = Dataset::load(&path).unwrap_err().to_string();
    assert!(e.contains("header"), "{e}");
}

#[test]
fn bad_edges_are_refused() {
    // Hand-written edge_index tensors: out of range, self loop, one direction only, repeated.
    for (edges, want) in [
        (vec![(0i64, 25i64), (25, 0)], "outside nodes"),
        (vec![(3, 3)], "self loop"),
        (vec![(1, 2)], "no reverse"),
        (vec![(1, 2), (2, 1), (1, 2)], "repeats"),
    ] {
        let path = tmp("edges.safetensors");
        write_with_edges(&path, &edges);
        let e = Dataset::load(&path).unwrap_err().to_string();
        assert!(e.contains("edge_index") && e.contains(want), "{want}: {e}");
    }
}

fn write_with_edges(path: &std::path::Path, edges: &[(i64, i64)]) {
    use safetensors::Dtype;
    use safetensors::tensor::TensorView;
    let n = 20;
    let feats = vec![1u8; n * 3];
    let labels: Vec<u8> = (0..n as i64).flat_map(|i| (i % 2).to_le_bytes()).collect();
    let e: Vec<u8> = edges
        .iter()
        .map(|p| p.0)
        .chain(edges.iter().map(|p| p.1))
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let mask: Vec<u8> = (0..n).map(|i| u8::from(i % 3 == 0)).collect();
    let t = vec![
        ("features", TensorView::new(Dtype::U8, vec![n, 3], &feats).unwrap()),
        ("labels", TensorView::new(Dtype::I64, vec![n], &labels).unwrap()),
        (
            "edge_index",
            TensorView::new(Dtype::I64, vec![2, edges.len()], &e).unwrap(),
        ),
        ("train_mask", TensorView::new(Dtype::U8, vec![n], &mask).unwrap()),
        ("val_mask", TensorView::new(Dtype::U8, vec![n], &mask).unwrap()),
        ("test_mask", TensorView::new(Dtype::U8, vec![n], &mask).unwrap()),
    ];
    std::fs::write(path, safetensors::serialize(t, None).unwrap()).unwrap();
}

#[test]
fn flips_files_round_trip_and_bad_lines_are_named() {
    let d = common::random_dataset(20, 30, 5, 3, 1);
    let path = tmp("flips.csv");
    flips::write(&path, &[(0, 5), (3, 19)]).unwrap();
    assert_eq!(flips::read(&path, &d.graph).unwrap(), vec![(0, 5), (3, 19)]);
    for (text, line, want) in [
        ("u,v\n0,5\n3,20\n", 3, "not a node"),
        ("1,1\n", 1, "self loop"),
        ("2,4\n4,2\n", 2, "twice"),
        ("0;5\n", 1, "not `u,v`"),
        ("0,-3\n", 1, "not a node"),
    ] {
        std::fs::write(&path, text).unwrap();
        match flips::read(&path, &d.graph) {
            Err(GnnError::Flips { line: l, detail, .. }) => {
                assert!(l == line && detail.contains(want), "{text:?}: line {l}: {detail}")
            }
            other => panic!("{text:?}: expected a flips error, got {other:?}"),
        }
    }
}
