//! Helpers for the end-to-end tests, including a float64 BERT forward pass written from the
//! Hugging Face tensor names alone: it shares no code with canao's IR, builders or interpreter,
//! so agreement with it checks all of them together.

use std::path::{Path, PathBuf};

use safetensors::SafeTensors;

/// The asset cache the tests use: `$CANAO_HOME` or the default, fetching MiniLM if missing.
pub fn minilm_dir() -> PathBuf {
    let home = canao_models::assets::canao_home();
    canao_models::assets::ensure(&home, canao_models::assets::Asset::Minilm, &mut |l| eprintln!("{l}"))
        .expect("MiniLM asset")
}

/// A matrix in f64, row-major.
struct Mat {
    rows: usize,
    cols: usize,
    v: Vec<f64>,
}

fn load(st: &SafeTensors<'_>, name: &str) -> Mat {
    let t = st.tensor(name).unwrap_or_else(|_| panic!("tensor {name}"));
    let v: Vec<f64> = t
        .data()
        .chunks_exact(4)
        .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .collect();
    let shape = t.shape();
    let (rows, cols) = if shape.len() == 1 {
        (1, shape[0])
    } else {
        (shape[0], shape[1])
    };
    Mat { rows, cols, v }
}

/// x [n, in] W^T + b, with W [out, in].
fn dense(x: &Mat, w: &Mat, b: &Mat) -> Mat {
    let mut v = vec![0.0; x.rows * w.rows];
    for i in 0..x.rows {
        for o in 0..w.rows {
            let mut s = b.v[o];
            for k in 0..x.cols {
                s += x.v[i * x.cols + k] * w.v[o * w.cols + k];
            }
            v[i * w.rows + o] = s;
        }
    }
    Mat {
        rows: x.rows,
        cols: w.rows,
        v,
    }
}

fn layer_norm(x: &mut Mat, g: &Mat, b: &Mat, eps: f64) {
    for row in x.v.chunks_mut(x.cols) {
        let n = row.len() as f64;
        let mean = row.iter().sum::<f64>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) / (var + eps).sqrt() * g.v[j] + b.v[j];
        }
    }
}

/// erf by its Taylor series for small |x| and the continued fraction's complement beyond,
/// accurate to ~1e-15 over the range GELU sees.
fn erf(x: f64) -> f64 {
    if x.abs() < 3.0 {
        let mut sum = 0.0;
        let mut term = x;
        for n in 0..100 {
            sum += term / (2 * n + 1) as f64;
            term *= -x * x / (n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(x) ~ exp(-x^2)/(x sqrt(pi)) * (1 - 1/(2x^2) + 3/(4x^4) - ...)
        let a = x.abs();
        let t = 1.0 / (2.0 * a * a);
        let tail = (-a * a).exp() / (a * std::f64::consts::PI.sqrt()) * (1.0 - t + 3.0 * t * t - 15.0 * t * t * t);
        x.signum() * (1.0 - tail)
    }
}

/// Last hidden state [tokens, hidden] of a Hugging Face BERT checkpoint for one sequence
/// (token type 0, no padding), entirely in f64.
pub fn reference_hidden(model_dir: &Path, ids: &[u32], layers: usize, heads: usize, eps: f64) -> Vec<Vec<f64>> {
    let bytes = std::fs::read(model_dir.join("model.safetensors")).expect("weights");
    let st = SafeTensors::deserialize(&bytes).expect("valid safetensors");
    let (word, pos, typ) = (
        load(&st, "embeddings.word_embeddings.weight"),
        load(&st, "embeddings.position_embeddings.weight"),
        load(&st, "embeddings.token_type_embeddings.weight"),
    );
    let d = word.cols;
    let n = ids.len();
    let mut x = Mat {
        rows: n,
        cols: d,
        v: vec![0.0; n * d],
    };
    for (t, &id) in ids.iter().enumerate() {
        for j in 0..d {
            x.v[t * d + j] = word.v[id as usize * d + j] + pos.v[t * d + j] + typ.v[j];
        }
    }
    layer_norm(
        &mut x,
        &load(&st, "embeddings.LayerNorm.weight"),
        &load(&st, "embeddings.LayerNorm.bias"),
        eps,
    );
    let dh = d / heads;
    for l in 0..layers {
        let p = |s: &str| load(&st, &format!("encoder.layer.{l}.{s}"));
        let q = dense(&x, &p("attention.self.query.weight"), &p("attention.self.query.bias"));
        let k = dense(&x, &p("attention.self.key.weight"), &p("attention.self.key.bias"));
        let v = dense(&x, &p("attention.self.value.weight"), &p("attention.self.value.bias"));
        let mut ctx = Mat {
            rows: n,
            cols: d,
            v: vec![0.0; n * d],
        };
        for h in 0..heads {
            for i in 0..n {
                let scores: Vec<f64> = (0..n)
                    .map(|j| {
                        (0..dh)
                            .map(|e| q.v[i * d + h * dh + e] * k.v[j * d + h * dh + e])
                            .sum::<f64>()
                            / (dh as f64).sqrt()
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let ex: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                let z: f64 = ex.iter().sum();
                for e in 0..dh {
                    ctx.v[i * d + h * dh + e] = (0..n).map(|j| ex[j] / z * v.v[j * d + h * dh + e]).sum();
                }
            }
        }
        let mut a = dense(
            &ctx,
            &p("attention.output.dense.weight"),
            &p("attention.output.dense.bias"),
        );
        for (o, r) in a.v.iter_mut().zip(&x.v) {
            *o += r;
        }
        layer_norm(
            &mut a,
            &p("attention.output.LayerNorm.weight"),
            &p("attention.output.LayerNorm.bias"),
            eps,
        );
        let mut f = dense(&a, &p("intermediate.dense.weight"), &p("intermediate.dense.bias"));
        for v in f.v.iter_mut() {
            *v = 0.5 * *v * (1.0 + erf(*v / std::f64::consts::SQRT_2));
        }
        let mut o = dense(&f, &p("output.dense.weight"), &p("output.dense.bias"));
        for (o, r) in o.v.iter_mut().zip(&a.v) {
            *o += r;
        }
        layer_norm(&mut o, &p("output.LayerNorm.weight"), &p("output.LayerNorm.bias"), eps);
        x = o;
    }
    x.v.chunks(d).map(<[f64]>::to_vec).collect()
}
