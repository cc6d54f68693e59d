//! Gradient leakage: the hand-written victim against finite differences (first order) and
//! against canao's burn LeNet-5 (same weights, same logits); the matching distance's exact
//! second-order gradient against finite differences of the distance, for every attack (an
//! annealed stage included), with and without a top-k mask; SAPAG annealing's schedule; the
//! quality measures; and DLG's search, which must match the gradient and recover the label.

use burn::tensor::{Device, Tensor, TensorData};
use canao_ir::builders::LeNetArch;
use canao_privacy::leak::invert::distance_and_grad;
use canao_privacy::leak::{Act, Attack, Init, Inversion, Net, Optimiser, Target, invert, quality};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A LeNet-5 small enough for finite differences over every input.
fn tiny() -> LeNetArch {
    LeNetArch {
        batch: 1,
        input: [2, 12, 12],
        conv1: 3,
        conv2: 4,
        fc1: 7,
        fc2: 5,
        classes: 4,
    }
}

fn random(n: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn loss(net: &Net<f64>, x: &[f64], y: &[f64]) -> f64 {
    net.gradients(x, y).loss
}

/// Central difference of `f` at `x` along coordinate `i`.
fn central(f: impl Fn(&[f64]) -> f64, x: &[f64], i: usize, h: f64) -> f64 {
    let (mut a, mut b) = (x.to_vec(), x.to_vec());
    a[i] += h;
    b[i] -= h;
    (f(&a) - f(&b)) / (2.0 * h)
}

fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-5 + 1e-4 * want.abs().max(got.abs());
    assert!(
        (got - want).abs() <= tol,
        "{what}: analytic {got}, finite difference {want}"
    );
}

#[test]
fn first_order_gradients_match_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for act in [Act::Relu, Act::Sigmoid] {
        let net = Net::init(&tiny(), act, Init::Uniform, 7).unwrap();
        let x = random(net.dims.pixels(), &mut rng);
        let y: Vec<f64> = (0..4).map(|_| rng.random_range(0.0..1.0)).collect();
        let g = net.gradients(&x, &y);
        for i in (0..x.len()).step_by(5) {
            close(
                g.input[i],
                central(|v| loss(&net, v, &y), &x, i, 1e-6),
                &format!("{act} input {i}"),
            );
        }
        for k in 0..y.len() {
            close(
                g.label[k],
                central(|v| loss(&net, &x, v), &y, k, 1e-6),
                &format!("{act} label {k}"),
            );
        }
        for (t, grad) in g.params.iter().enumerate() {
            for i in (0..grad.len()).step_by(7) {
                let f = |v: &[f64]| {
                    let mut moved = net.clone();
                    moved.tensors[t] = v.to_vec();
                    loss(&moved, &x, &y)
                };
                close(
                    grad[i],
                    central(f, &net.tensors[t], i, 1e-6),
                    &format!("{act} tensor {t} entry {i}"),
                );
            }
        }
    }
}

#[test]
fn the_victim_computes_what_canaos_lenet_computes() {
    let arch = LeNetArch::default();
    let weights = canao_train::init_lenet(&arch, 5).unwrap();
    let net = Net::from_weights(canao_privacy::leak::Dims::of(&arch).unwrap(), Act::Relu, &weights).unwrap();
    let device = Device::flex().autodiff();
    let burn_net = canao_train::lenet::LeNet::load(&arch, &weights, &device).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x = random(784, &mut rng);
    let pixels: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let logits: Vec<f32> = burn_net
        .forward(Tensor::from_data(TensorData::new(pixels, [1, 1, 28, 28]), &device))
        .into_data()
        .iter::<f32>()
        .collect();
    // Logits are not public; the loss of a one-hot label is -log softmax, which pins them down
    // up to a constant, and the prediction must agree too.
    let top = logits
        .iter()
        .enumerate()
        .fold(0, |b, (i, &v)| if v > logits[b] { i } else { b });
    assert_eq!(net.predict(&x), top);
    let lse = logits.iter().map(|&v| f64::from(v).exp()).sum::<f64>().ln();
    for (k, &z) in logits.iter().enumerate() {
        let mut y = vec![0.0; 10];
        y[k] = 1.0;
        close(loss(&net, &x, &y), lse - f64::from(z), &format!("class {k}"));
    }
}

#[test]
fn the_matching_distance_gradient_matches_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for act in [Act::Sigmoid, Act::Relu] {
        let net = Net::init(&tiny(), act, Init::Default, 11).unwrap();
        let private = random(net.dims.pixels(), &mut rng);
        let received = net.gradients(&private, &[0.0, 1.0, 0.0, 0.0]).params;
        let masked: Vec<Vec<bool>> = received
            .iter()
            .map(|g| g.iter().map(|_| rng.random_bool(0.3)).collect())
            .collect();
        let start = net.gradients(&random(net.dims.pixels(), &mut rng), &[0.25; 4]).params;
        for attack in [Attack::Dlg, Attack::Sapag, Attack::SapagAnnealed] {
            for target in [
                Target::dense(attack, received.clone()),
                Target::new(attack, received.clone(), masked.clone()),
                Target::new(attack, received.clone(), masked.clone()).annealed(&start, 1, 4),
            ] {
                let x = random(net.dims.pixels(), &mut rng);
                let logits = random(4, &mut rng);
                let (_, dx, dl) = distance_and_grad(&net, &target, &x, &logits);
                let at = |x: &[f64], l: &[f64]| distance_and_grad(&net, &target, x, l).0;
                for i in (0..x.len()).step_by(9) {
                    close(
                        dx[i],
                        central(|v| at(v, &logits), &x, i, 1e-5),
                        &format!("{act} {attack} image {i}"),
                    );
                }
                for (k, &d) in dl.iter().enumerate() {
                    close(
                        d,
                        central(|v| at(&x, v), &logits, k, 1e-5),
                        &format!("{act} {attack} logit {k}"),
                    );
                }
            }
        }
    }
}

/// Stage 0 of an annealed attack puts every layer's kernel at e^-1 at the start (or below, for a
/// layer already within 2 sigma), the last stage is plain SAPAG, and the stages between lie
/// between the two.
#[test]
fn sapag_annealing_starts_off_the_flat_of_the_kernel_and_ends_at_sapag() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let net = Net::init(&tiny(), Act::Sigmoid, Init::Uniform, 12).unwrap();
    let received = net
        .gradients(&random(net.dims.pixels(), &mut rng), &[0.0, 0.0, 0.0, 1.0])
        .params;
    let start = net.gradients(&random(net.dims.pixels(), &mut rng), &[0.25; 4]).params;
    let annealed = Target::dense(Attack::SapagAnnealed, received.clone());
    let layers = received.len() / 2;
    // Layer l weighs 1 / (l + 1); at e^-1 of the kernel it adds (1 - e^-1) of that.
    let ceiling: f64 = (0..layers).map(|l| (1.0 - (-1.0f64).exp()) / (l + 1) as f64).sum();
    let at_start = annealed.annealed(&start, 0, 4).distance(&start).0;
    assert!(
        at_start <= ceiling + 1e-12 && at_start > 0.5 * ceiling,
        "{at_start} against {ceiling}"
    );
    let plain = Target::dense(Attack::Sapag, received).distance(&start).0;
    let last = annealed.annealed(&start, 3, 4).distance(&start).0;
    assert!((last - plain).abs() < 1e-12, "{last} against {plain}");
    let between = annealed.annealed(&start, 1, 4).distance(&start).0;
    assert!(at_start <= between && between <= last, "{at_start} {between} {last}");
    assert_eq!(Attack::SapagAnnealed.stages(), 4);
    assert_eq!("sapag-annealed".parse::<Attack>().unwrap(), Attack::SapagAnnealed);
}

#[test]
fn quality_measures_behave() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let shape = [1, 28, 28];
    let a: Vec<f64> = (0..784).map(|_| rng.random_range(0.0..1.0)).collect();
    let same = quality(&a, &a, shape);
    assert!(same.mse == 0.0 && (same.ssim - 1.0).abs() < 1e-12);
    let b: Vec<f64> = a.iter().map(|v| (v + 0.1).min(1.0)).collect();
    let q = quality(&a, &b, shape);
    let mse = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / 784.0;
    assert!((q.mse - mse).abs() < 1e-15 && (q.psnr + 10.0 * mse.log10()).abs() < 1e-9);
    let noisy: Vec<f64> = a.iter().map(|v| v + rng.random_range(-0.3..0.3)).collect();
    let grey = vec![0.5; 784];
    let (qn, qg) = (quality(&a, &noisy, shape), quality(&a, &grey, shape));
    assert!(q.ssim > qn.ssim && qn.ssim > qg.ssim, "{q:?} {qn:?} {qg:?}");
    assert!(qg.ssim.abs() < 0.05, "a constant image carries no structure: {qg:?}");
}

#[test]
fn dlg_matches_the_gradient_and_recovers_the_label() {
    // DLG's own setting: sigmoid, untrained, one image, L-BFGS; a small LeNet so it runs fast.
    // Matching the gradient does not pin the image down here (max pooling hides every pixel
    // that is no window's maximum), so what is checked is the search itself: the distance
    // falls by orders of magnitude and the label comes out. Image quality is measured by
    // `canao privacy leak`, against trivial guesses.
    let arch = LeNetArch {
        batch: 1,
        input: [1, 12, 12],
        conv1: 6,
        conv2: 16,
        fc1: 32,
        fc2: 16,
        classes: 4,
    };
    let net = Net::init(&arch, Act::Sigmoid, Init::Default, 21).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let private = random(net.dims.pixels(), &mut rng);
    let received = net.gradients(&private, &[0.0, 0.0, 1.0, 0.0]).params;
    for optimiser in [Optimiser::Lbfgs, Optimiser::Adam] {
        let how = Inversion {
            optimiser,
            iters: 600,
            lr: if optimiser == Optimiser::Adam { 0.05 } else { 1.0 },
            seed: 9,
        };
        let r = invert(&net, &Target::dense(Attack::Dlg, received.clone()), &how);
        let first = r.trace[0];
        assert!(
            r.distance < 1e-3 * first,
            "{optimiser:?}: distance {} from {first}",
            r.distance
        );
        assert!(r.label[2] > 0.9, "{optimiser:?}: label {:?}", r.label);
    }
}
