//! The shipped spaces load; bad spaces and out-of-space students are refused with the field named.

use canao_models::StudentArch;
use canao_search::{SearchError, SearchSpace};
use rand::SeedableRng;

fn shipped(name: &str) -> SearchSpace {
    let path = format!("{}/../../search-spaces/{name}.ron", env!("CARGO_MANIFEST_DIR"));
    SearchSpace::from_file(std::path::Path::new(&path)).unwrap()
}

#[test]
fn shipped_spaces_load_and_sample_inside_themselves() {
    for name in ["minilm", "bert-base"] {
        let s = shipped(name);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..50 {
            let student = s.sample(&mut rng);
            s.contains(&student).unwrap();
            assert!((s.layers.0..=s.layers.1).contains(&student.layers.len()));
        }
    }
}

#[test]
fn sampling_is_seeded() {
    let s = shipped("minilm");
    let draw = |seed| s.sample(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
}

fn base() -> String {
    std::fs::read_to_string(format!("{}/../../search-spaces/minilm.ron", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn unknown_fields_are_refused_with_their_position() {
    let text = base().replace("seq: 128,", "seq: 128,\n    sequence: 64,");
    let e = SearchSpace::from_ron(&text, "bad.ron").unwrap_err().to_string();
    assert!(
        e.contains("bad.ron") && e.contains("sequence") && e.contains(':'),
        "{e}"
    );
}

#[test]
fn out_of_range_values_name_the_field() {
    for (from, to, field) in [
        ("heads: [2, 4,", "heads: [2, 13,", "heads[1]"),
        ("density: [1.0, 0.5, 0.25]", "density: [1.0, 1.5]", "density[1]"),
        ("layers: (2, 6)", "layers: (2, 7)", "layers"),
        ("(8, 8), ", "(0, 8), ", "block[0]"),
    ] {
        let text = base().replace(from, to);
        assert_ne!(text, base(), "replacement {from} applied");
        match SearchSpace::from_ron(&text, "bad.ron") {
            Err(SearchError::Field { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected a field error for {field}, got {other:?}"),
        }
    }
}

#[test]
fn students_outside_the_space_are_refused() {
    let s = shipped("minilm");
    let mut student = StudentArch::identity(&s.teacher_arch());
    s.contains(&student).unwrap();
    student.layers[3].heads = 3;
    let e = s.contains(&student).unwrap_err();
    assert!(
        matches!(&e, SearchError::Outside { field, .. } if field == "layers[3].heads"),
        "{e}"
    );
    let mut student = StudentArch::identity(&s.teacher_arch());
    student.layers[0].density = 0.5;
    student.layers[0].block = Some([4, 4]);
    let e = s.contains(&student).unwrap_err();
    assert!(
        matches!(&e, SearchError::Outside { field, .. } if field == "layers[0].block"),
        "{e}"
    );
    student.layers.truncate(1);
    assert!(
        s.contains(&student).is_err(),
        "one layer is below the space's minimum of two"
    );
}
