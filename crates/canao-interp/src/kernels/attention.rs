use canao_tensor::Tensor;

use crate::kernels::{matmul, merge_heads, softmax, split_heads};

/// The fused attention op, computed as the chain it stands for, so the reference cannot differ
/// from the unfused graph: split the heads (when `heads`), scores, (masked) softmax, context,
/// merge the heads.
pub fn attention(ins: &[&Tensor], heads: Option<usize>, alpha: f32, out_alpha: f32, out_shape: Vec<usize>) -> Tensor {
    let (q, k, v, mask) = (ins[0], ins[1], ins[2], ins.get(3).copied());
    let Some(h) = heads else {
        return core(q, k, v, mask, alpha, out_alpha);
    };
    let split = |t: &Tensor| {
        let [s, w] = t.shape()[..] else {
            unreachable!("checked by the IR")
        };
        split_heads(t, h, vec![h, s, w / h])
    };
    let ctx = core(&split(q), &split(k), &split(v), mask, alpha, out_alpha);
    merge_heads(&ctx, out_shape)
}

fn core(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>, alpha: f32, out_alpha: f32) -> Tensor {
    let with_last = |t: &Tensor, last: usize| {
        let mut s = t.shape().to_vec();
        *s.last_mut().expect("rank >= 2") = last;
        s
    };
    let keys = k.shape()[k.shape().len() - 2];
    let scores = matmul(q, k, true, alpha, with_last(q, keys));
    let probs = softmax(&scores, mask);
    matmul(
        &probs,
        v,
        false,
        out_alpha,
        with_last(&probs, *v.shape().last().expect("rank >= 2")),
    )
}
