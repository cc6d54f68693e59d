//! Image classification sets: Fashion-MNIST (gzip-compressed IDX, 60k train + 10k test) and
//! scikit-learn's digits (8x8, values 0..16), the latter upscaled 3x and padded to 28x28 so the
//! same LeNet-5 trains on both in seconds.

use std::io::Read;
use std::path::Path;

use crate::data::split::Split;
use crate::error::{Result, TrainError};

/// Images as f32 [n, C, H, W] (standardised with the training part's mean and deviation) and
/// labels.
#[derive(Debug, Clone)]
pub struct ImageSet {
    pub shape: [usize; 3],
    pub pixels: Vec<f32>,
    pub labels: Vec<usize>,
    pub split: Split,
}

impl ImageSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.shape.iter().product::<usize>();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Standardises every pixel with the training part's statistics.
    fn standardise(mut self) -> Self {
        let n = self.shape.iter().product::<usize>();
        let (mut sum, mut sq) = (0.0f64, 0.0f64);
        for &i in &self.split.train {
            for &p in &self.pixels[i * n..(i + 1) * n] {
                sum += f64::from(p);
                sq += f64::from(p) * f64::from(p);
            }
        }
        let count = (self.split.train.len() * n) as f64;
        let mean = sum / count;
        let sd = (sq / count - mean * mean).max(1e-12).sqrt();
        for p in &mut self.pixels {
            *p = ((f64::from(*p) - mean) / sd) as f32;
        }
        self
    }
}

fn gunzip(file: &Path) -> Result<Vec<u8>> {
    let f = std::fs::File::open(file).map_err(crate::error::io(file))?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut out)
        .map_err(|e| TrainError::Data {
            file: file.to_path_buf(),
            detail: format!("not gzip-compressed: {e}"),
        })?;
    Ok(out)
}

fn data_err(file: &Path, detail: String) -> TrainError {
    TrainError::Data {
        file: file.to_path_buf(),
        detail,
    }
}

/// Reads an IDX file of magic `magic` (0x803 images, 0x801 labels); returns its dims and bytes.
fn idx(file: &Path, magic: u32) -> Result<(Vec<usize>, Vec<u8>)> {
    let bytes = gunzip(file)?;
    let word = |i: usize| -> Option<u32> {
        bytes
            .get(4 * i..4 * i + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if word(0) != Some(magic) {
        return Err(data_err(file, format!("not an IDX file of magic {magic:#x}")));
    }
    let rank = (magic & 0xff) as usize;
    let dims: Vec<usize> = (1..=rank)
        .map(|i| word(i).map(|d| d as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| data_err(file, "header is cut short".into()))?;
    let start = 4 * (rank + 1);
    let expected = dims.iter().product::<usize>();
    if bytes.len() != start + expected {
        return Err(data_err(
            file,
            format!(
                "{:?} needs {expected} bytes of data, found {}",
                dims,
                bytes.len().saturating_sub(start)
            ),
        ));
    }
    Ok((dims, bytes[start..].to_vec()))
}

fn labels_of(file: &Path, bytes: &[u8], classes: usize) -> Result<Vec<usize>> {
    bytes
        .iter()
        .map(|&b| usize::from(b))
        .map(|l| {
            (l < classes)
                .then_some(l)
                .ok_or_else(|| data_err(file, format!("label {l} is not below {classes}")))
        })
        .collect()
}

/// Fashion-MNIST from the asset folder: the 60k training images (5,000 of them, seeded, held out
/// for validation) then the 10k test images, which are the test part.
pub fn load_fashion_mnist(dir: &Path) -> Result<ImageSet> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for prefix in ["train", "t10k"] {
        let images = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
        let label_file = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
        let (dims, bytes) = idx(&images, 0x803)?;
        let (ldims, lbytes) = idx(&label_file, 0x801)?;
        if dims[1..] != [28, 28] || ldims[0] != dims[0] {
            return Err(data_err(
                &images,
                format!("images {dims:?} do not match labels {ldims:?}"),
            ));
        }
        pixels.extend(bytes.iter().map(|&b| f32::from(b) / 255.0));
        labels.extend(labels_of(&label_file, &lbytes, 10)?);
    }
    let train_n = 60_000.min(labels.len());
    let inner = Split::shuffled(train_n, 5_000, 0)?;
    let split = Split {
        train: inner.train,
        validation: inner.validation,
        test: (train_n..labels.len()).collect(),
    };
    Ok(ImageSet {
        shape: [1, 28, 28],
        pixels,
        labels,
        split,
    }
    .standardise())
}

/// The 1,797 digits from `digits.csv.gz` (64 values 0..16 then the label per row), upscaled 3x
/// (nearest) and padded by 2 to 28x28; 270 held out for validation and 270 for test.
pub fn load_digits(file: &Path) -> Result<ImageSet> {
    let text = String::from_utf8(gunzip(file)?).map_err(|e| data_err(file, e.to_string()))?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (row, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let values: Vec<f32> = line
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| data_err(file, format!("line {}: {e}", row + 1)))?;
        if values.len() != 65 {
            return Err(data_err(
                file,
                format!("line {}: {} values, expected 65", row + 1, values.len()),
            ));
        }
        let mut image = vec![0.0f32; 28 * 28];
        for y in 0..24 {
            for x in 0..24 {
                image[(y + 2) * 28 + x + 2] = values[(y / 3) * 8 + x / 3] / 16.0;
            }
        }
        pixels.extend(image);
        let label = values[64];
        if !(label.fract() == 0.0 && (0.0..10.0).contains(&label)) {
            return Err(data_err(
                file,
                format!("line {}: label {label} is not a digit", row + 1),
            ));
        }
        labels.push(label as usize);
    }
    let split = Split::shuffled(labels.len(), 270, 270)?;
    Ok(ImageSet {
        shape: [1, 28, 28],
        pixels,
        labels,
        split,
    }
    .standardise())
}
