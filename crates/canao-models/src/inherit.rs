//! Weight inheritance: a student of a BERT teacher starts from the teacher's weights. Each
//! student layer copies the teacher layer it names and keeps its most important heads and FFN
//! neurons, so removed structure physically shrinks the matrices rather than being masked.

use canao_ir::Weights;
use canao_ir::builders::BertArch;
use canao_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::student::StudentArch;

/// Parameters outside the encoder layers, copied as they are.
const EMBEDDING_PARAMS: [&str; 5] = ["emb.word", "emb.pos", "emb.type", "emb.ln.g", "emb.ln.b"];

/// Per-layer parameters that no head or neuron selection touches.
const COPIED_LAYER_PARAMS: [&str; 6] = [
    "attn.o.b",
    "attn.ln.g",
    "attn.ln.b",
    "ffn.out.b",
    "ffn.ln.g",
    "ffn.ln.b",
];

/// The student's weights, under the parameter names of the graph `student.bert(teacher_arch, _)`
/// builds. Head importance is the sum of squared weights of the head's rows in q, k and v and
/// its columns in o; neuron importance is the squared norm of its `ffn.in` row plus its
/// `ffn.out` column. The most important are kept, in their original order (ties go to the lower
/// index, so the choice is deterministic). A missing teacher tensor is an error naming it.
pub fn inherit(teacher: &Weights, teacher_arch: &BertArch, student: &StudentArch) -> Result<Weights> {
    let student_arch = student.bert(teacher_arch, 1)?;
    if teacher_arch.layers.iter().any(|l| l.hidden != teacher_arch.hidden) {
        // A student that skips layers of a teacher whose width changes would need projections
        // the teacher never trained.
        return Err(NnError::Student {
            field: "teacher".into(),
            detail: "inheritance needs a teacher whose layers all keep the embedding width".into(),
        });
    }
    let mut out = Weights::new();
    for name in EMBEDDING_PARAMS {
        out.insert_dense(name, teacher.dense(name)?.clone());
    }
    let d = teacher_arch.head_dim;
    for (i, l) in student.layers.iter().enumerate() {
        let src = |part: &str| teacher.dense(&format!("enc.{}.{part}", l.teacher));
        let dst = |part: &str| format!("enc.{i}.{part}");
        let heads = keep_most_important(
            &head_importance(&src, teacher_arch.layers[l.teacher].heads, d)?,
            l.heads,
        );
        let att_rows: Vec<usize> = heads.iter().flat_map(|&h| h * d..(h + 1) * d).collect();
        for p in ["q", "k", "v"] {
            out.insert_dense(
                dst(&format!("attn.{p}.w")),
                rows(src(&format!("attn.{p}.w"))?, &att_rows),
            );
            out.insert_dense(
                dst(&format!("attn.{p}.b")),
                rows(src(&format!("attn.{p}.b"))?, &att_rows),
            );
        }
        out.insert_dense(dst("attn.o.w"), columns(src("attn.o.w")?, &att_rows));
        let ffn_in = src("ffn.in.w")?;
        let ffn_out = src("ffn.out.w")?;
        let neurons = keep_most_important(&neuron_importance(ffn_in, ffn_out), l.ffn);
        out.insert_dense(dst("ffn.in.w"), rows(ffn_in, &neurons));
        out.insert_dense(dst("ffn.in.b"), rows(src("ffn.in.b")?, &neurons));
        out.insert_dense(dst("ffn.out.w"), columns(ffn_out, &neurons));
        for part in COPIED_LAYER_PARAMS {
            out.insert_dense(dst(part), src(part)?.clone());
        }
    }
    out.check_against(&student_arch.build()?)?;
    Ok(out)
}

/// Squared weight mass of each head: its `d` rows of q, k, v and its `d` columns of o.
fn head_importance<'a>(src: &dyn Fn(&str) -> canao_ir::Result<&'a Tensor>, heads: usize, d: usize) -> Result<Vec<f64>> {
    let mut score = vec![0.0f64; heads];
    for p in ["attn.q.w", "attn.k.w", "attn.v.w"] {
        let t = src(p)?;
        let cols = t.shape()[1];
        for (r, row) in t.data().chunks(cols).enumerate() {
            score[r / d] += sum_sq(row);
        }
    }
    let o = src("attn.o.w")?;
    let cols = o.shape()[1];
    for row in o.data().chunks(cols) {
        for (c, &v) in row.iter().enumerate() {
            score[c / d] += f64::from(v).powi(2);
        }
    }
    Ok(score)
}

/// Squared norm of each FFN neuron's input row plus its output column.
fn neuron_importance(ffn_in: &Tensor, ffn_out: &Tensor) -> Vec<f64> {
    let width = ffn_in.shape()[1];
    let mut score: Vec<f64> = ffn_in.data().chunks(width).map(sum_sq).collect();
    let cols = ffn_out.shape()[1];
    for row in ffn_out.data().chunks(cols) {
        for (c, &v) in row.iter().enumerate() {
            score[c] += f64::from(v).powi(2);
        }
    }
    score
}

fn sum_sq(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x).powi(2)).sum()
}

/// Indices of the `keep` largest scores, in increasing index order.
fn keep_most_important(score: &[f64], keep: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    order.truncate(keep);
    order.sort_unstable();
    order
}

/// The given rows (first-axis entries) of a 1-D or 2-D tensor.
fn rows(t: &Tensor, keep: &[usize]) -> Tensor {
    let mut shape = t.shape().to_vec();
    let width: usize = shape[1..].iter().product();
    let data = keep
        .iter()
        .flat_map(|&r| &t.data()[r * width..(r + 1) * width])
        .copied()
        .collect();
    shape[0] = keep.len();
    Tensor::new(shape, data).expect("row count matches the data")
}

/// The given columns of a 2-D tensor.
fn columns(t: &Tensor, keep: &[usize]) -> Tensor {
    let (n, k) = (t.shape()[0], t.shape()[1]);
    let data = (0..n)
        .flat_map(|r| keep.iter().map(move |&c| t.data()[r * k + c]))
        .collect();
    Tensor::new(vec![n, keep.len()], data).expect("column count matches the data")
}

#[cfg(test)]
mod tests {
    use canao_interp::Interpreter;
    use canao_ir::builders::BertLayer;
    use canao_ir::{Executable, Runtime, Schedule};
    use rand::SeedableRng;

    use super::*;
    use crate::student::StudentLayer;

    /// A small teacher: 3 layers, width 8, 4 heads of 2, FFN 6.
    fn tiny() -> BertArch {
        BertArch {
            vocab: 20,
            max_positions: 16,
            type_vocab: 2,
            seq: 5,
            hidden: 8,
            head_dim: 2,
            layer_norm_eps: 1e-12,
            layers: vec![
                BertLayer {
                    hidden: 8,
                    heads: 4,
                    ffn: 6
                };
                3
            ],
        }
    }

    fn teacher_weights(arch: &BertArch) -> Weights {
        let g = arch.build().unwrap();
        canao_interp::random::random_weights(&g, &mut rand::rngs::StdRng::seed_from_u64(11))
    }

    #[test]
    fn identity_student_reproduces_the_teacher_exactly() {
        let t = tiny();
        let w = teacher_weights(&t);
        assert_eq!(inherit(&w, &t, &StudentArch::identity(&t)).unwrap(), w);
    }

    #[test]
    fn shrunk_student_runs_with_matching_shapes() {
        let t = tiny();
        let w = teacher_weights(&t);
        let s = StudentArch {
            layers: vec![
                StudentLayer {
                    teacher: 0,
                    heads: 1,
                    ffn: 3,
                    density: 1.0,
                    block: None,
                },
                StudentLayer {
                    teacher: 2,
                    heads: 3,
                    ffn: 6,
                    density: 0.5,
                    block: Some([2, 2]),
                },
            ],
        };
        let sw = inherit(&w, &t, &s).unwrap();
        assert_eq!(sw.dense("enc.0.attn.q.w").unwrap().shape(), &[2, 8]);
        assert_eq!(sw.dense("enc.0.attn.o.w").unwrap().shape(), &[8, 2]);
        assert_eq!(sw.dense("enc.0.ffn.in.w").unwrap().shape(), &[3, 8]);
        assert_eq!(sw.dense("enc.1.ffn.out.w").unwrap().shape(), &[8, 6]);
        // Layer norms and output biases come from the named teacher layer unchanged.
        assert_eq!(sw.dense("enc.1.ffn.ln.g").unwrap(), w.dense("enc.2.ffn.ln.g").unwrap());
        let mut g = s.bert(&t, 5).unwrap().build().unwrap();
        s.sparsify(&mut g, &sw).unwrap();
        let mut exe = Interpreter.prepare(&g, &sw, &Schedule::default()).unwrap();
        let inputs = canao_interp::random::random_inputs(&g, &mut rand::rngs::StdRng::seed_from_u64(2), 20);
        let out = exe.run(&inputs).unwrap();
        assert_eq!(out[0].shape(), &[5, 8]);
        assert!(out[1].data().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn keeps_the_high_norm_heads_and_neurons_in_order() {
        let t = BertArch {
            layers: vec![tiny().layers[0].clone()],
            ..tiny()
        };
        let mut w = teacher_weights(&t);
        // Zero everything, then give heads 3 and 1 (in that order of weight) and neurons 4 and 0
        // their mass; head 1's mass sits only in o's columns, neuron 0's only in ffn.out.
        for (name, v) in w.clone().iter() {
            if let canao_ir::ParamValue::Dense(x) = v {
                w.insert_dense(name.clone(), Tensor::zeros(x.shape().to_vec()));
            }
        }
        let mut set = |name: &str, at: &[(usize, usize)], v: f32| {
            let mut x = w.dense(name).unwrap().clone();
            let cols = x.shape()[1];
            for &(r, c) in at {
                x.data_mut()[r * cols + c] = v;
            }
            w.insert_dense(name, x);
        };
        set("enc.0.attn.k.w", &[(6, 0), (7, 3)], 3.0);
        set("enc.0.attn.o.w", &[(0, 2), (5, 3)], 1.0);
        set("enc.0.ffn.in.w", &[(4, 1)], 2.0);
        set("enc.0.ffn.out.w", &[(7, 0)], 1.5);
        let s = StudentArch {
            layers: vec![StudentLayer {
                teacher: 0,
                heads: 2,
                ffn: 2,
                density: 1.0,
                block: None,
            }],
        };
        let sw = inherit(&w, &t, &s).unwrap();
        // Heads 1 (rows 2..4) then 3 (rows 6..8): head 3's k rows land at student rows 2..4.
        let k = sw.dense("enc.0.attn.k.w").unwrap();
        assert_eq!(k.data()[2 * 8], 3.0);
        assert_eq!(k.data()[3 * 8 + 3], 3.0);
        let o = sw.dense("enc.0.attn.o.w").unwrap();
        assert_eq!(o.data()[0], 1.0, "head 1's first o column is student column 0");
        let fin = sw.dense("enc.0.ffn.in.w").unwrap();
        assert_eq!(fin.data()[8 + 1], 2.0, "neuron 4 is the student's second");
        let fout = sw.dense("enc.0.ffn.out.w").unwrap();
        assert_eq!(fout.data()[7 * 2], 1.5, "neuron 0 is the student's first");
    }

    #[test]
    fn a_missing_teacher_tensor_is_named() {
        let t = tiny();
        let mut w = Weights::new();
        for (name, v) in teacher_weights(&t).iter() {
            if name != "enc.1.ffn.in.b" {
                w.insert(name.clone(), v.clone());
            }
        }
        let err = inherit(&w, &t, &StudentArch::identity(&t)).unwrap_err().to_string();
        assert!(err.contains("enc.1.ffn.in.b"), "{err}");
    }
}
