//! The hand-written GCN backward against central finite differences, for the parameters and
//! for edge weights (present and absent pairs) through the degree normalisation.

mod common;

use canao_gnn::edge_grad::EdgeGrad;
use canao_gnn::loss::cross_entropy;
use canao_gnn::train::labels_of;
use canao_gnn::{Adjacency, Dataset, Dims, Gcn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn loss(model: &Gcn, adj: &Adjacency, data: &Dataset) -> f64 {
    let z = model.logits(adj, &data.features);
    f64::from(cross_entropy(&z, data.classes, &data.test, &labels_of(data, &data.test)).0)
}

fn close(analytic: f32, numeric: f64, what: &str) {
    let err = (f64::from(analytic) - numeric).abs();
    assert!(
        err <= 2e-3 + 0.03 * numeric.abs(),
        "{what}: backward {analytic} vs finite difference {numeric}"
    );
}

fn setup() -> (Dataset, Gcn, ChaCha8Rng) {
    let data = common::random_dataset(17, 30, 6, 3, 5);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let dims = Dims {
        features: 6,
        hidden: 4,
        classes: 3,
    };
    let mut model = Gcn::init(dims, &mut rng);
    // Non-zero biases so that the ReLU pattern is mixed.
    model.b1.iter_mut().for_each(|b| *b = rng.random_range(-0.3..0.3));
    (data, model, rng)
}

#[test]
fn parameter_gradients_match_finite_differences() {
    let (data, model, mut rng) = setup();
    let adj = Adjacency::new(&data.graph);
    let pass = model.forward::<ChaCha8Rng>(&adj, &data.features, None);
    let (_, dz) = cross_entropy(&pass.z, data.classes, &data.test, &labels_of(&data, &data.test));
    let (grads, _) = model.backward(&adj, &data.features, pass, dz);
    let eps = 1e-3f32;
    for which in 0..4 {
        for _ in 0..6 {
            let len = [model.w1.len(), model.b1.len(), model.w2.len(), model.b2.len()][which];
            let k = rng.random_range(0..len);
            let at = |delta: f32| {
                let mut m = model.clone();
                [&mut m.w1, &mut m.b1, &mut m.w2, &mut m.b2][which][k] += delta;
                loss(&m, &adj, &data)
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * f64::from(eps));
            let analytic = [&grads.w1, &grads.b1, &grads.w2, &grads.b2][which][k];
            close(analytic, numeric, &format!("parameter {which} entry {k}"));
        }
    }
}

#[test]
fn edge_weight_gradients_match_finite_differences() {
    let (data, model, _) = setup();
    // Fractional weights on the edges, as a relaxed perturbation makes them.
    let weights: Vec<(usize, usize, f32)> = data
        .graph
        .edges()
        .enumerate()
        .map(|(k, (u, v))| (u, v, 0.3 + 0.07 * (k % 10) as f32))
        .collect();
    let weight_of = |u: usize, v: usize| weights.iter().find(|w| (w.0, w.1) == (u, v)).map_or(0.0, |w| w.2);
    let adj = Adjacency::weighted(data.nodes(), weights.iter().copied());
    let pass = model.forward::<ChaCha8Rng>(&adj, &data.features, None);
    let (_, dz) = cross_entropy(&pass.z, data.classes, &data.test, &labels_of(&data, &data.test));
    let (_, g) = model.backward(&adj, &data.features, pass, dz);
    let grad = EdgeGrad::new(&adj, g);
    let eps = 1e-2f32;
    let mut absent = 0;
    for (u, v) in [(0, 1), (2, 9), (3, 16), (5, 6), (7, 11), (12, 13), (4, 14), (8, 10)]
        .into_iter()
        .chain(data.graph.edges().take(5))
    {
        absent += usize::from(weight_of(u, v) == 0.0);
        let at = |delta: f32| {
            let mut w: Vec<_> = weights.iter().copied().filter(|w| (w.0, w.1) != (u, v)).collect();
            w.push((u, v, weight_of(u, v) + delta));
            loss(&model, &Adjacency::weighted(data.nodes(), w), &data)
        };
        let numeric = (at(eps) - at(-eps)) / (2.0 * f64::from(eps));
        close(grad.pair(u, v), numeric, &format!("pair ({u}, {v})"));
    }
    assert!(absent >= 3, "the check covers absent pairs too ({absent})");
}
