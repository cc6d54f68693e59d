//! The group-Lasso regulariser's parts: its burn group norms equal canao-compress's on awkward
//! shapes, and the reweighting rule on hand-checked norms.

mod common;

use burn::tensor::{Tensor, TensorData};
use canao_compress::{Layer, Rows, Structure};
use canao_train::group_lasso::{GroupLassoParams, group_norms, reweight};
use common::*;

#[test]
fn burn_group_norms_equal_the_structures_on_padded_edges() {
    let shape = [5, 7];
    let data: Vec<f32> = (0..35).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect();
    for structure in [
        Structure::Irregular,
        Structure::Filter,
        Structure::Column,
        Structure::Block { rows: 2, cols: 3 },
        Structure::Block { rows: 5, cols: 4 },
    ] {
        let want = structure.group_norms(shape, &data);
        let w = Tensor::<1>::from_data(TensorData::new(data.clone(), [35]), &device());
        let got = values(&group_norms(w, shape, structure.tile(shape)));
        assert_eq!(got.len(), want.len(), "{structure}");
        for (g, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!(
                (f64::from(*a) - b).abs() < 1e-5,
                "{structure} group {g}: burn {a}, canao {b}"
            );
        }
    }
}

/// An irregular [rows, cols] layer keeping `keep` weights.
fn layer(shape: [usize; 2], keep: usize, rows: Rows) -> Layer {
    Layer {
        param: "w".into(),
        shape,
        structure: Structure::Irregular,
        keep,
        rows,
    }
}

#[test]
fn reweighting_pushes_small_groups_harder_and_the_bounded_variant_spares_the_kept() {
    let norms = [3.0, 0.0, 1.0, 4.0];
    let two = layer([1, 4], 2, Rows::Any);
    let free = reweight(&norms, &two, &GroupLassoParams::reweighted()).unwrap();
    let want = [1.0 / 3.001, 1000.0, 1.0 / 1.001, 1.0 / 4.001];
    for (a, b) in free.iter().zip(want) {
        assert!((f64::from(*a) - b).abs() < 1e-3 * b, "{free:?}");
    }
    // Bounded: the two largest groups (3 and 0) are what the target keeps, so carry nothing.
    let bounded = reweight(&norms, &two, &GroupLassoParams::dynamic()).unwrap();
    assert_eq!(bounded[0], 0.0);
    assert_eq!(bounded[3], 0.0);
    assert_eq!(&bounded[1..3], &free[1..3]);
    // Ties go to the earlier group, as the projection breaks them.
    let one = layer([1, 2], 1, Rows::Any);
    assert_eq!(
        reweight(&[1.0, 1.0], &one, &GroupLassoParams::dynamic()).unwrap()[0],
        0.0
    );
    // Every row keeping a group: in the [2, 2] matrix [[4, 3], [0, 1]] row 1's larger weight (1)
    // is spared, not the second largest overall (3, in row 0).
    let spared = |rows| {
        let a = reweight(
            &[4.0, 3.0, 0.0, 1.0],
            &layer([2, 2], 2, rows),
            &GroupLassoParams::dynamic(),
        )
        .unwrap();
        a.iter().map(|&a| a == 0.0).collect::<Vec<_>>()
    };
    assert_eq!(spared(Rows::Any), [true, true, false, false]);
    assert_eq!(spared(Rows::EachKept), [true, false, false, true]);
}

#[test]
fn bad_parameters_name_the_field() {
    let bad = GroupLassoParams {
        every: 0,
        ..GroupLassoParams::reweighted()
    };
    assert!(bad.validate().unwrap_err().to_string().contains("every"));
    let bad = GroupLassoParams {
        lambda: f64::NAN,
        ..GroupLassoParams::dynamic()
    };
    assert!(bad.validate().unwrap_err().to_string().contains("lambda"));
}
