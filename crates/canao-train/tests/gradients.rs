//! burn's gradients of the models' losses against central finite differences.

mod common;

use burn::optim::GradientsParams;
use canao_compress::{Layer, Structure};
use canao_ir::Weights;
use canao_ir::builders::LeNetArch;
use canao_train::learner::cross_entropy;
use canao_train::params::param_id;
use canao_train::{BertClassifier, GroupLasso, GroupLassoParams, LeNet, TokenBatch};
use common::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const STEP: f32 = 5e-3;
/// Entries sampled per parameter; at least half must be in a smooth region to be compared.
const SAMPLES: usize = 8;

/// Compares d loss / d w at sampled entries of each named parameter with a central difference.
/// ReLU and max-pooling make the loss piecewise smooth: an entry whose difference quotients at
/// STEP, STEP / 2 and STEP / 4 do not agree sits near a kink and is skipped. The tolerance is relative to the
/// parameter's largest gradient entry, so small gradients are not compared against a loose
/// absolute bound.
fn check(
    weights: &Weights,
    names: &[&str],
    loss_of: &dyn Fn(&Weights) -> burn::tensor::Tensor<1>,
    grad_of: &dyn Fn(&str) -> Vec<f32>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for name in names {
        let analytic = grad_of(name);
        let scale = analytic.iter().fold(0.0f32, |m, g| m.max(g.abs()));
        // Below this the loss's f32 rounding (about 1e-7 of it, over 2 STEP) drowns the quotient.
        assert!(
            scale > 1e-3,
            "@{name}: largest gradient entry {scale} is too small to check"
        );
        let t = weights.dense(name).unwrap();
        let mut compared = 0;
        for _ in 0..SAMPLES {
            let i = rng.random_range(0..t.len());
            let at = |delta: f32| {
                let mut w = weights.clone();
                let mut p = t.clone();
                p.data_mut()[i] += delta;
                w.insert_dense(name.to_string(), p);
                f64::from(loss_of(&w).into_scalar::<f32>())
            };
            let quotient = |h: f32| ((at(h) - at(-h)) / (2.0 * f64::from(h))) as f32;
            let [coarse, mid, fine] = [1.0, 2.0, 4.0].map(|d| quotient(STEP / d));
            if (coarse - mid).abs() > 0.01 * scale || (mid - fine).abs() > 0.01 * scale {
                continue;
            }
            let a = analytic[i];
            assert!(
                (a - fine).abs() <= 0.02 * scale + 0.05 * a.abs(),
                "@{name}[{i}]: autodiff {a}, finite difference {fine} (largest gradient entry {scale})"
            );
            compared += 1;
        }
        assert!(
            compared >= SAMPLES / 2,
            "@{name}: only {compared} of {SAMPLES} entries were in a smooth region"
        );
    }
}

fn grads_of(loss: burn::tensor::Tensor<1>, model: &impl burn::module::Module) -> GradientsParams {
    GradientsParams::from_grads(loss.backward(), model)
}

#[test]
fn bert_gradients_match_finite_differences() {
    let arch = tiny_bert();
    let seq = 6;
    let g = arch.with_seq(seq).build_classifier(3).unwrap();
    let mut w = weights_for(&g, 11);
    let names: Vec<String> = w.iter().map(|(n, _)| n.clone()).collect();
    for n in &names {
        let mut t = w.dense(n).unwrap().clone();
        // Unit layer-norm gains; everything else uniform in +-0.5, so that attention is far
        // from uniform and every gradient is well above the quotient's resolution.
        if n.ends_with(".g") {
            t.data_mut().iter_mut().for_each(|v| *v = 1.0 + *v * 0.2);
        }
        w.insert_dense(n.clone(), t);
    }
    let batch: TokenBatch = random_batch(3, seq, arch.vocab, 12);
    let labels = [0usize, 2, 1];
    let loss_of = |w: &Weights| {
        let m = BertClassifier::load(&arch, 3, w, &device()).unwrap();
        cross_entropy(m.forward(&batch, None).logits, &labels)
    };
    let model = BertClassifier::load(&arch, 3, &w, &device()).unwrap();
    let grads = grads_of(cross_entropy(model.forward(&batch, None).logits, &labels), &model);
    let grad_of = |name: &str| -> Vec<f32> {
        let id = param_id(name);
        let rank = w.dense(name).unwrap().shape().len();
        if rank == 1 {
            values(&grads.get::<1>(id).unwrap())
        } else {
            values(&grads.get::<2>(id).unwrap())
        }
    };
    check(
        &w,
        &[
            "emb.word",
            "emb.pos",
            "emb.ln.g",
            "enc.0.attn.q.w",
            "enc.0.attn.v.b",
            "enc.0.ffn.in.w",
            "enc.1.proj.w",
            "enc.1.attn.o.w",
            "enc.1.ffn.ln.b",
            "head.w",
        ],
        &loss_of,
        &grad_of,
    );
}

#[test]
fn lenet_gradients_match_finite_differences() {
    // 12x12 images: one 1x1 map after the second block, so few ReLU and pooling kinks.
    let arch = LeNetArch {
        input: [1, 12, 12],
        conv1: 3,
        conv2: 4,
        fc1: 10,
        fc2: 8,
        classes: 5,
        ..LeNetArch::default()
    };
    let w = canao_train::init_lenet(&arch, 13).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let pixels: Vec<f32> = (0..2 * 12 * 12).map(|_| rng.random_range(-1.0..1.0)).collect();
    let labels = [1usize, 4];
    let input = || {
        burn::tensor::Tensor::<4>::from_data(burn::tensor::TensorData::new(pixels.clone(), [2, 1, 12, 12]), &device())
    };
    let loss_of = |w: &Weights| {
        let m = LeNet::load(&arch, w, &device()).unwrap();
        cross_entropy(m.forward(input()), &labels)
    };
    let model = LeNet::load(&arch, &w, &device()).unwrap();
    let grads = grads_of(cross_entropy(model.forward(input()), &labels), &model);
    let grad_of = |name: &str| -> Vec<f32> {
        let id = param_id(name);
        match w.dense(name).unwrap().shape().len() {
            1 => values(&grads.get::<1>(id).unwrap()),
            2 => values(&grads.get::<2>(id).unwrap()),
            _ => values(&grads.get::<4>(id).unwrap()),
        }
    };
    check(
        &w,
        &["conv1.w", "conv1.b", "conv2.w", "fc1.w", "fc3.b"],
        &loss_of,
        &grad_of,
    );
}

#[test]
fn group_lasso_gradients_match_finite_differences() {
    let arch = LeNetArch {
        input: [1, 12, 12],
        conv1: 3,
        conv2: 4,
        fc1: 10,
        fc2: 8,
        classes: 5,
        ..LeNetArch::default()
    };
    let w = canao_train::init_lenet(&arch, 15).unwrap();
    // 2x5 tiles over conv1's [3, 25] matrix leave a padded edge row of tiles.
    let layer = |param: &str, structure: Structure| {
        let t = w.dense(param).unwrap();
        let shape = [t.shape()[0], t.len() / t.shape()[0]];
        Layer {
            param: param.into(),
            shape,
            structure,
            keep: 1,
            rows: canao_compress::Rows::Any,
        }
    };
    let layers = vec![
        layer("conv1.w", Structure::Block { rows: 2, cols: 5 }),
        layer("conv2.w", Structure::Column),
        layer("fc1.w", Structure::Filter),
    ];
    let params = GroupLassoParams {
        lambda: 0.5,
        ..GroupLassoParams::reweighted()
    };
    let lasso = GroupLasso::new(params, layers, &w, device()).unwrap();
    let loss_of = |w: &Weights| lasso.term(&LeNet::load(&arch, w, &device()).unwrap()).unwrap();
    let model = LeNet::load(&arch, &w, &device()).unwrap();
    let grads = grads_of(lasso.term(&model).unwrap(), &model);
    let grad_of = |name: &str| -> Vec<f32> {
        let id = param_id(name);
        match w.dense(name).unwrap().shape().len() {
            2 => values(&grads.get::<2>(id).unwrap()),
            _ => values(&grads.get::<4>(id).unwrap()),
        }
    };
    check(&w, &["conv1.w", "conv2.w", "fc1.w"], &loss_of, &grad_of);
}
