use canao_tensor::Tensor;

/// Rows of `table` picked by ids; an id outside the table is an error, not a wrap-around.
pub fn embedding(ids: &Tensor, table: &Tensor) -> Result<Tensor, String> {
    let (vocab, d) = (table.shape()[0], table.shape()[1]);
    let mut out = Vec::with_capacity(ids.len() * d);
    for (pos, &id) in ids.data().iter().enumerate() {
        if id < 0.0 || id as usize >= vocab {
            return Err(format!(
                "id {id} at position {pos} is outside the table of {vocab} rows"
            ));
        }
        let r = id as usize;
        out.extend_from_slice(&table.data()[r * d..(r + 1) * d]);
    }
    Tensor::new(vec![ids.len(), d], out).map_err(|e| e.to_string())
}

/// [seq, heads * d] -> [heads, seq, d].
pub fn split_heads(x: &Tensor, heads: usize, out_shape: Vec<usize>) -> Tensor {
    let (s, d) = (out_shape[1], out_shape[2]);
    let mut out = Tensor::zeros(out_shape);
    for h in 0..heads {
        for t in 0..s {
            let src = &x.data()[t * heads * d + h * d..t * heads * d + (h + 1) * d];
            out.data_mut()[(h * s + t) * d..(h * s + t + 1) * d].copy_from_slice(src);
        }
    }
    out
}

/// [heads, seq, d] -> [seq, heads * d].
pub fn merge_heads(x: &Tensor, out_shape: Vec<usize>) -> Tensor {
    let (heads, s, d) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    let mut out = Tensor::zeros(out_shape);
    for h in 0..heads {
        for t in 0..s {
            let src = &x.data()[(h * s + t) * d..(h * s + t + 1) * d];
            out.data_mut()[t * heads * d + h * d..t * heads * d + (h + 1) * d].copy_from_slice(src);
        }
    }
    out
}

/// Mean of the rows whose mask is non-zero; the count is clamped at 1e-9 as
/// sentence-transformers does, so an all-zero mask gives zeros rather than NaN.
pub fn masked_mean(x: &Tensor, mask: &Tensor, out_shape: Vec<usize>) -> Tensor {
    let d = out_shape[0];
    let mut acc = vec![0.0f64; d];
    let mut count = 0.0f64;
    for (row, &m) in x.data().chunks(d).zip(mask.data()) {
        let m = f64::from(m);
        count += m;
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += m * f64::from(v);
        }
    }
    let count = count.max(1e-9);
    let mut out = Tensor::zeros(out_shape);
    for (o, a) in out.data_mut().iter_mut().zip(acc) {
        *o = (a / count) as f32;
    }
    out
}
