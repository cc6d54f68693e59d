use crate::error::{Result, TensorError};

/// A dense, row-major f32 tensor. Integer data (token ids) is carried as exact f32 values.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// Builds a tensor, checking that `data` has exactly as many values as `shape` asks for.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self> {
        let expected = shape.iter().product::<usize>();
        if expected != data.len() {
            return Err(TensorError::DataLength {
                shape,
                expected,
                got: data.len(),
            });
        }
        Ok(Self { shape, data })
    }

    pub fn zeros(shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        Self {
            shape,
            data: vec![0.0; n],
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Same data under another shape with the same element count.
    pub fn reshape(self, shape: Vec<usize>) -> Result<Self> {
        Self::new(shape, self.data)
    }

    /// Rejects NaN and infinities, naming the tensor: weights and inputs are checked on entry so a
    /// bad value is reported where it came from rather than as a wrong answer later.
    pub fn check_finite(&self, name: &str) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite()) {
            Some(index) => Err(TensorError::NonFinite {
                name: name.to_string(),
                index,
            }),
            None => Ok(()),
        }
    }

    /// Largest absolute element-wise difference; `None` when the shapes differ.
    pub fn max_abs_diff(&self, other: &Tensor) -> Option<f32> {
        if self.shape != other.shape {
            return None;
        }
        Some(
            self.data
                .iter()
                .zip(&other.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_length() {
        assert!(Tensor::new(vec![2, 3], vec![0.0; 6]).is_ok());
        let err = Tensor::new(vec![2, 3], vec![0.0; 5]).unwrap_err();
        assert!(err.to_string().contains("6 elements"), "{err}");
    }

    #[test]
    fn check_finite_names_tensor() {
        let t = Tensor::new(vec![3], vec![1.0, f32::NAN, 0.0]).unwrap();
        let err = t.check_finite("enc.0.w").unwrap_err().to_string();
        assert!(err.contains("enc.0.w") && err.contains("index 1"), "{err}");
    }
}
