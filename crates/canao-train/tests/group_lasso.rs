//! The group-Lasso regulariser's parts: its burn group norms equal canao-compress's on awkward
//! shapes, and the reweighting rule on hand-checked norms.

mod common;

use burn::tensor::{Tensor, TensorData};
use canao_compress::Structure;
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

#[test]
fn reweighting_pushes_small_groups_harder_and_the_bounded_variant_spares_the_kept() {
    let norms = [3.0, 0.0, 1.0, 4.0];
    let free = reweight(&norms, 2, &GroupLassoParams::reweighted());
    let want = [1.0 / 3.001, 1000.0, 1.0 / 1.001, 1.0 / 4.001];
    for (a, b) in free.iter().zip(want) {
        assert!((f64::from(*a) - b).abs() < 1e-3 * b, "{free:?}");
    }
    // Bounded: the two largest groups (3 and 0) are what the target keeps, so carry nothing.
    let bounded = reweight(&norms, 2, &GroupLassoParams::dynamic());
    assert_eq!(bounded[0], 0.0);
    assert_eq!(bounded[3], 0.0);
    assert_eq!(&bounded[1..3], &free[1..3]);
    // Ties go to the earlier group, as the projection breaks them.
    assert_eq!(reweight(&[1.0, 1.0], 1, &GroupLassoParams::dynamic())[0], 0.0);
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
