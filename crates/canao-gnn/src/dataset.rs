//! Planetoid citation graphs (Cora, CiteSeer) in the safetensors layout of
//! `../shared/datasets/README.md`, validated tensor by tensor, and the same layout written back
//! (tests and synthetic graphs use it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::error::{GnnError, Result};
use crate::features::Features;
use crate::graph::Graph;

/// A node-classification graph with its fixed split.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub graph: Graph,
    /// Row-normalised bag-of-words rows (Kipf and Welling's preprocessing).
    pub features: Features,
    /// Class per node; None for the unlabeled (CiteSeer's isolated test-range nodes).
    pub labels: Vec<Option<usize>>,
    pub classes: usize,
    pub train: Vec<usize>,
    pub val: Vec<usize>,
    pub test: Vec<usize>,
    /// How `edge_index` was laid out in the file.
    pub edge_layout: EdgeLayout,
}

/// The byte order of `edge_index` [2, E]: as declared (a row of sources, then a row of
/// targets), or (u, v) pairs one after the other, which is what the shipped Cora and CiteSeer
/// files hold under a [2, E] header. The declared reading is tried first; the pair reading is
/// taken only when the declared one is not a simple symmetric graph and the pair one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeLayout {
    Rows,
    Pairs,
}

impl Dataset {
    pub fn nodes(&self) -> usize {
        self.graph.nodes()
    }

    /// Loads and checks a file; every error names the file and the tensor (and the row).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| GnnError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, &bytes)
    }

    /// Checks and decodes the bytes of a file; `path` names it in errors and gives the name.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self> {
        let file = Reader {
            path: path.to_path_buf(),
            st: SafeTensors::deserialize(bytes).map_err(|e| GnnError::Dataset {
                path: path.to_path_buf(),
                item: "header".into(),
                detail: e.to_string(),
            })?,
        };
        let name = path
            .file_stem()
            .map_or("graph".into(), |s| s.to_string_lossy().into_owned());
        file.dataset(name)
    }

    /// Writes the file layout `load` reads (binary features as u8), to a temporary name first.
    pub fn save(&self, path: &Path) -> Result<()> {
        let n = self.nodes();
        let f = self.features.dims();
        let mut feats = vec![0u8; n * f];
        for i in 0..n {
            for &(c, _) in self.features.row(i) {
                feats[i * f + c] = 1;
            }
        }
        let labels: Vec<u8> = self
            .labels
            .iter()
            .flat_map(|l| l.map_or(-1i64, |c| c as i64).to_le_bytes())
            .collect();
        let mut edge = [Vec::new(), Vec::new()];
        for (u, v) in self.graph.edges() {
            for (a, b) in [(u, v), (v, u)] {
                edge[0].push(a as i64);
                edge[1].push(b as i64);
            }
        }
        let edges: Vec<u8> = edge.concat().iter().flat_map(|x| x.to_le_bytes()).collect();
        let mask = |part: &[usize]| {
            let mut m = vec![0u8; n];
            part.iter().for_each(|&i| m[i] = 1);
            m
        };
        let (train, val, test) = (mask(&self.train), mask(&self.val), mask(&self.test));
        let e = self.graph.edge_count() * 2;
        fn view(dtype: Dtype, shape: Vec<usize>, data: &[u8]) -> safetensors::tensor::TensorView<'_> {
            safetensors::tensor::TensorView::new(dtype, shape, data).expect("shape and data agree by construction")
        }
        let tensors = vec![
            ("features", view(Dtype::U8, vec![n, f], &feats)),
            ("labels", view(Dtype::I64, vec![n], &labels)),
            ("edge_index", view(Dtype::I64, vec![2, e], &edges)),
            ("train_mask", view(Dtype::U8, vec![n], &train)),
            ("val_mask", view(Dtype::U8, vec![n], &val)),
            ("test_mask", view(Dtype::U8, vec![n], &test)),
        ];
        let bytes = safetensors::serialize(tensors, None).map_err(|e| GnnError::Shape(e.to_string()))?;
        crate::io::write_atomic(path, &bytes)
    }
}

struct Reader<'a> {
    path: PathBuf,
    st: SafeTensors<'a>,
}

impl Reader<'_> {
    fn err<T>(&self, item: &str, detail: impl Into<String>) -> Result<T> {
        Err(GnnError::Dataset {
            path: self.path.clone(),
            item: item.into(),
            detail: detail.into(),
        })
    }

    /// A tensor's raw bytes after checking its dtype and rank.
    fn tensor(&self, name: &str, dtype: Dtype, rank: usize) -> Result<(Vec<usize>, &[u8])> {
        let t = match self.st.tensor(name) {
            Ok(t) => t,
            Err(_) => return self.err(name, "missing"),
        };
        if t.dtype() != dtype || t.shape().len() != rank {
            return self.err(
                name,
                format!("is {:?} {:?}, expected {dtype:?} of rank {rank}", t.dtype(), t.shape()),
            );
        }
        Ok((t.shape().to_vec(), t.data()))
    }

    fn i64s(&self, name: &str, rank: usize) -> Result<(Vec<usize>, Vec<i64>)> {
        let (shape, data) = self.tensor(name, Dtype::I64, rank)?;
        let values = data
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("chunks of eight")))
            .collect();
        Ok((shape, values))
    }

    fn dataset(&self, name: String) -> Result<Dataset> {
        let (fshape, fdata) = self.tensor("features", Dtype::U8, 2)?;
        let (n, f) = (fshape[0], fshape[1]);
        if n == 0 || f == 0 {
            return self.err("features", format!("shape {fshape:?} is empty"));
        }
        if let Some(i) = fdata.iter().position(|&x| x > 1) {
            return self.err("features", format!("row {}: value {} is not 0 or 1", i / f, fdata[i]));
        }
        let (labels, classes) = self.labels(n)?;
        let (graph, edge_layout) = self.edges(n)?;
        let mut parts = Vec::new();
        for mask in ["train_mask", "val_mask", "test_mask"] {
            parts.push(self.mask(mask, n, &labels)?);
        }
        let test = parts.pop().expect("three parts");
        let val = parts.pop().expect("three parts");
        let train = parts.pop().expect("three parts");
        Ok(Dataset {
            name,
            graph,
            features: Features::from_dense_binary(n, f, fdata),
            labels,
            classes,
            train,
            val,
            test,
            edge_layout,
        })
    }

    fn labels(&self, n: usize) -> Result<(Vec<Option<usize>>, usize)> {
        let (shape, raw) = self.i64s("labels", 1)?;
        if shape[0] != n {
            return self.err("labels", format!("has {} entries for {n} nodes", shape[0]));
        }
        if let Some(i) = raw.iter().position(|&l| l < -1) {
            return self.err(
                "labels",
                format!("row {i}: class {} (only -1 may mark unlabeled)", raw[i]),
            );
        }
        let labels: Vec<Option<usize>> = raw.iter().map(|&l| usize::try_from(l).ok()).collect();
        let classes = labels.iter().flatten().max().map_or(0, |&c| c + 1);
        if classes < 2 {
            return self.err("labels", "fewer than two classes");
        }
        Ok((labels, classes))
    }

    /// Both directions of every undirected edge, each once, no self loops, in range; in the
    /// declared layout, or else in the pair layout (see `EdgeLayout`).
    fn edges(&self, n: usize) -> Result<(Graph, EdgeLayout)> {
        let (shape, raw) = self.i64s("edge_index", 2)?;
        if shape[0] != 2 {
            return self.err("edge_index", format!("shape {shape:?}, expected [2, E]"));
        }
        let e = shape[1];
        let rows: Vec<(i64, i64)> = (0..e).map(|k| (raw[k], raw[e + k])).collect();
        let declared = match self.simple_graph(n, &rows) {
            Ok(g) => return Ok((g, EdgeLayout::Rows)),
            Err(err) => err,
        };
        let pairs: Vec<(i64, i64)> = raw.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        match self.simple_graph(n, &pairs) {
            Ok(g) => Ok((g, EdgeLayout::Pairs)),
            Err(_) => Err(declared),
        }
    }

    fn simple_graph(&self, n: usize, edges: &[(i64, i64)]) -> Result<Graph> {
        let mut directed: HashMap<(usize, usize), usize> = HashMap::with_capacity(edges.len());
        for (k, &(a, b)) in edges.iter().enumerate() {
            let in_range = |x: i64| usize::try_from(x).ok().filter(|&x| x < n);
            let (Some(u), Some(v)) = (in_range(a), in_range(b)) else {
                return self.err("edge_index", format!("edge {k}: ({a}, {b}) outside nodes 0..{n}"));
            };
            if u == v {
                return self.err("edge_index", format!("edge {k}: self loop at node {u}"));
            }
            if let Some(first) = directed.insert((u, v), k) {
                return self.err("edge_index", format!("edge {k}: ({u}, {v}) repeats edge {first}"));
            }
        }
        let lone = directed
            .iter()
            .filter(|(p, _)| !directed.contains_key(&(p.1, p.0)))
            .min_by_key(|(_, k)| **k);
        if let Some((&(u, v), &k)) = lone {
            return self.err("edge_index", format!("edge {k}: ({u}, {v}) has no reverse ({v}, {u})"));
        }
        Graph::new(n, directed.keys().filter(|(u, v)| u < v).copied())
            .or_else(|e| self.err("edge_index", e.to_string()))
    }

    fn mask(&self, name: &str, n: usize, labels: &[Option<usize>]) -> Result<Vec<usize>> {
        let (shape, data) = self.tensor(name, Dtype::U8, 1)?;
        if shape[0] != n {
            return self.err(name, format!("has {} entries for {n} nodes", shape[0]));
        }
        let mut nodes = Vec::new();
        for (i, &m) in data.iter().enumerate() {
            match m {
                0 => {}
                1 if labels[i].is_some() => nodes.push(i),
                1 => return self.err(name, format!("row {i}: node is in the split but unlabeled")),
                x => return self.err(name, format!("row {i}: value {x} is not 0 or 1")),
            }
        }
        if nodes.is_empty() {
            return self.err(name, "selects no node");
        }
        Ok(nodes)
    }
}
