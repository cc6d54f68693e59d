//! `canao bench train-step`: one MiniLM fine-tuning step (forward with dropout, backward,
//! global-norm clip, AdamW) at a fixed batch, timed per phase over repeated steps on a rayon pool
//! of the given size. The PyTorch peer times the same step (`benches/peer/train_minilm.py
//! --bench-step`).

use std::time::Instant;

use anyhow::{Context, Result};
use burn::optim::{AdamWConfig, GradientsParams};
use canao_models::{MiniLm, assets};
use canao_train::layers::Dropout;
use canao_train::learner::cross_entropy;
use canao_train::{BertClassifier, TokenBatch, add_head};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

/// Times `steps` training steps after `warmup` untimed ones.
pub fn train_step(threads: usize, batch: usize, seq: usize, warmup: usize, steps: usize) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")?;
    let minilm = MiniLm::from_cache(&assets::canao_home(), &mut |l| eprintln!("{l}"))?;
    let arch = minilm.arch(1);
    if seq > arch.max_positions {
        anyhow::bail!("--seq {seq} exceeds the model's {} positions", arch.max_positions);
    }
    let mut weights = minilm.weights().clone();
    add_head(&mut weights, &arch, 2, 0);
    let device = burn::tensor::Device::flex().autodiff();
    let mut model = BertClassifier::load(&arch, 2, &weights, &device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let tokens = batch * seq;
    let input = TokenBatch {
        batch,
        seq,
        ids: (0..tokens).map(|_| rng.random_range(1000..arch.vocab as i64)).collect(),
        types: vec![0; tokens],
        mask: vec![1.0; tokens],
    };
    let labels: Vec<usize> = (0..batch).map(|_| rng.random_range(0..2)).collect();
    let mut optimizer = AdamWConfig::new().with_weight_decay(0.01).with_epsilon(1e-8).init();
    let mut phases: Vec<[f64; 3]> = Vec::with_capacity(steps);
    pool.install(|| {
        for step in 0..warmup + steps {
            let mut noise = Dropout {
                rate: 0.1,
                rng: ChaCha8Rng::seed_from_u64(step as u64),
            };
            let t0 = Instant::now();
            let loss = cross_entropy(model.forward(&input, Some(&mut noise)).logits, &labels);
            let _ = loss.clone().into_scalar::<f32>();
            let t1 = Instant::now();
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            let t2 = Instant::now();
            canao_train::clip_global_norm(&model, &mut grads, 1.0);
            model = optimizer.step(5e-5, model.clone(), grads);
            let t3 = Instant::now();
            if step >= warmup {
                phases.push([t1 - t0, t2 - t1, t3 - t2].map(|d| d.as_secs_f64()));
            }
        }
    });
    let median = |i: usize| {
        let mut v: Vec<f64> = phases.iter().map(|p| p[i]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut totals: Vec<f64> = phases.iter().map(|p| p.iter().sum()).collect();
    totals.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({
            "bench": "train-step", "model": "minilm", "threads": threads, "batch": batch, "seq": seq,
            "steps": steps, "median_step_s": totals[totals.len() / 2], "min_step_s": totals[0],
            "median_forward_s": median(0), "median_backward_s": median(1), "median_clip_and_optimizer_s": median(2),
            "samples_per_s": batch as f64 / totals[totals.len() / 2],
        })
    );
    Ok(())
}
