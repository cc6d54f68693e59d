use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::SafeTensors;
use safetensors::tensor::{Dtype, TensorView};

use crate::error::{Result, TensorError};
use crate::tensor::Tensor;

/// Name, dtype and shape of one stored tensor, as read from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub dtype: String,
    pub shape: Vec<usize>,
}

/// A safetensors file held in memory and validated on open (header, offsets, sizes).
#[derive(Debug)]
pub struct SafetensorsFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl SafetensorsFile {
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| TensorError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path.to_path_buf(), bytes)
    }

    /// `path` only labels errors; useful for tests that build a file in memory.
    pub fn from_bytes(path: PathBuf, bytes: Vec<u8>) -> Result<Self> {
        SafeTensors::deserialize(&bytes).map_err(|e| TensorError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self { path, bytes })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn view(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("validated when the file was opened")
    }

    /// Every tensor's dtype and shape, by name.
    pub fn infos(&self) -> BTreeMap<String, TensorInfo> {
        self.view()
            .tensors()
            .into_iter()
            .map(|(name, v)| {
                (
                    name,
                    TensorInfo {
                        dtype: format!("{:?}", v.dtype()),
                        shape: v.shape().to_vec(),
                    },
                )
            })
            .collect()
    }

    /// Loads one F32 tensor, rejecting other dtypes and non-finite values by name.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let st = self.view();
        let view = st.tensor(name).map_err(|_| TensorError::Missing {
            path: self.path.clone(),
            name: name.to_string(),
        })?;
        if view.dtype() != Dtype::F32 {
            return Err(TensorError::Dtype {
                path: self.path.clone(),
                name: name.to_string(),
                dtype: format!("{:?}", view.dtype()),
            });
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let t = Tensor::new(view.shape().to_vec(), data)?;
        t.check_finite(name)?;
        Ok(t)
    }
}

/// Writes named f32 tensors as a safetensors file.
pub fn write_safetensors(path: &Path, tensors: &BTreeMap<String, Tensor>) -> Result<()> {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.data().iter().flat_map(|v| v.to_le_bytes()).collect(),
                t.shape().to_vec(),
            )
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(n, b, s)| {
            TensorView::new(Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| TensorError::Corrupt {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize_to_file(views, None, path).map_err(|e| TensorError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors_name_things() {
        let dir = std::env::temp_dir().join(format!("canao-st-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.safetensors");
        let mut m = BTreeMap::new();
        m.insert(
            "a.w".to_string(),
            Tensor::new(vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap(),
        );
        write_safetensors(&path, &m).unwrap();
        let f = SafetensorsFile::open(&path).unwrap();
        assert_eq!(f.tensor("a.w").unwrap(), m["a.w"]);
        assert!(f.tensor("b").unwrap_err().to_string().contains("`b`"));

        let bytes = std::fs::read(&path).unwrap();
        let truncated = SafetensorsFile::from_bytes(path.clone(), bytes[..bytes.len() - 3].to_vec());
        let err = truncated.unwrap_err().to_string();
        assert!(err.contains("w.safetensors"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
