//! The work schema every backend's plan reports and the latency model reads: what kind of
//! kernel a step runs ([`KernelClass`]) and how much it does, in units a latency model can be
//! linear in ([`Work`]). It lives in the IR so that neither side depends on the other: a
//! backend counts its own plan, a latency model fits coefficients per class over these fields.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One step's work. Every field is a count the step's time can be linear in:
/// - `calls`: 1 per step (fixed overhead);
/// - `macs`: multiply-accumulates in full-height register tiles (dense GEMM, block strips of 8
///   rows, attention, pattern and circulant products); `macs_h4` / `macs_h1`: those of block
///   strips 4 and 1 rows high and of an unstructured kernel (one-row blocks), which reuse each
///   loaded activation less;
/// - `elements`: values written by element-wise work (epilogues, norms, softmax, copies);
/// - `transcendentals`: exp / erf evaluations (GELU, softmax);
/// - `weight_bytes`: packed weight bytes streamed; `act_bytes`: activation bytes read and written;
/// - `runs`: loop set-ups of sparse formats (runs of kept blocks, pattern groups, frequency
///   bins), each times the tiles of activations it is repeated for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Work {
    pub calls: f64,
    pub macs: f64,
    pub macs_h4: f64,
    pub macs_h1: f64,
    pub elements: f64,
    pub transcendentals: f64,
    pub weight_bytes: f64,
    pub act_bytes: f64,
    pub runs: f64,
}

impl Work {
    /// Field names, in the order of [`Work::values`].
    pub const NAMES: [&'static str; 9] = [
        "calls",
        "macs",
        "macs_h4",
        "macs_h1",
        "elements",
        "transcendentals",
        "weight_bytes",
        "act_bytes",
        "runs",
    ];

    /// Which fields scale with memory bandwidth rather than the clock, in [`Work::NAMES`] order.
    pub const MEMORY_BOUND: [bool; 9] = [false, false, false, false, false, false, true, true, false];

    /// The fields in [`Work::NAMES`] order: the row a linear model multiplies.
    pub fn values(&self) -> [f64; 9] {
        [
            self.calls,
            self.macs,
            self.macs_h4,
            self.macs_h1,
            self.elements,
            self.transcendentals,
            self.weight_bytes,
            self.act_bytes,
            self.runs,
        ]
    }

    /// One step's fixed overhead and nothing else.
    pub fn call() -> Self {
        Self {
            calls: 1.0,
            ..Self::default()
        }
    }
}

/// Rows of a block strip processed together: it decides how often a loaded activation vector
/// is reused, and so a block kernel's whole cost structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StripHeight {
    H8,
    H4,
    /// One-row strips, and the unstructured kernel that replaced them (profiles keep its name).
    H1,
}

impl StripHeight {
    pub const ALL: [StripHeight; 3] = [StripHeight::H8, StripHeight::H4, StripHeight::H1];

    pub fn rows(self) -> usize {
        match self {
            StripHeight::H8 => 8,
            StripHeight::H4 => 4,
            StripHeight::H1 => 1,
        }
    }
}

/// How a weight product stores its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WeightFormat {
    Dense,
    /// Kept blocks; linear layers are classed by the strip height most of their rows run at,
    /// convolutions are not (`None`).
    Block(Option<StripHeight>),
    Pattern,
    Circulant,
}

impl WeightFormat {
    pub const ALL: [WeightFormat; 7] = [
        WeightFormat::Dense,
        WeightFormat::Block(None),
        WeightFormat::Block(Some(StripHeight::H8)),
        WeightFormat::Block(Some(StripHeight::H4)),
        WeightFormat::Block(Some(StripHeight::H1)),
        WeightFormat::Pattern,
        WeightFormat::Circulant,
    ];
}

/// The kernel a step runs, as a latency profile keys its coefficients (`linear/block/h8`,
/// `attention`, ...). `Io` is what a run does outside its steps: checking and loading inputs,
/// converting outputs. A backend uses the classes its plans have (the CPU fuses attention, so
/// it never emits `matmul`, `softmax` or `heads`; WGSL does when a row's scores do not fit in
/// workgroup memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KernelClass {
    Io,
    Input,
    Embedding,
    Linear(WeightFormat),
    Conv(WeightFormat),
    Bias,
    Activation,
    Add,
    LayerNorm,
    Attention,
    /// Batched products of two activations (unfused attention's scores and context).
    MatMul,
    Softmax,
    /// Moving heads between the token-major and the per-head layout.
    Heads,
    MaskedMean,
    L2Normalize,
    Pool,
    Flatten,
    SpMM,
}

/// Classes without a weight format, by name.
const PLAIN: [(KernelClass, &str); 16] = [
    (KernelClass::Io, "io"),
    (KernelClass::Input, "input"),
    (KernelClass::Embedding, "embedding"),
    (KernelClass::Bias, "bias"),
    (KernelClass::Activation, "activation"),
    (KernelClass::Add, "add"),
    (KernelClass::LayerNorm, "layer_norm"),
    (KernelClass::Attention, "attention"),
    (KernelClass::MatMul, "matmul"),
    (KernelClass::Softmax, "softmax"),
    (KernelClass::Heads, "heads"),
    (KernelClass::MaskedMean, "masked_mean"),
    (KernelClass::L2Normalize, "l2_normalize"),
    (KernelClass::Pool, "pool"),
    (KernelClass::Flatten, "flatten"),
    (KernelClass::SpMM, "spmm"),
];

impl fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightFormat::Dense => f.write_str("dense"),
            WeightFormat::Block(None) => f.write_str("block"),
            WeightFormat::Block(Some(h)) => write!(f, "block/h{}", h.rows()),
            WeightFormat::Pattern => f.write_str("pattern"),
            WeightFormat::Circulant => f.write_str("circulant"),
        }
    }
}

impl FromStr for WeightFormat {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let height = |rows: &str| StripHeight::ALL.into_iter().find(|h| h.rows().to_string() == rows);
        match s {
            "dense" => Ok(WeightFormat::Dense),
            "block" => Ok(WeightFormat::Block(None)),
            "pattern" => Ok(WeightFormat::Pattern),
            "circulant" => Ok(WeightFormat::Circulant),
            _ => s
                .strip_prefix("block/h")
                .and_then(height)
                .map(|h| WeightFormat::Block(Some(h)))
                .ok_or(()),
        }
    }
}

impl fmt::Display for KernelClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelClass::Linear(w) => write!(f, "linear/{w}"),
            KernelClass::Conv(w) => write!(f, "conv/{w}"),
            plain => {
                let name = PLAIN.iter().find(|(c, _)| c == plain).map(|(_, n)| *n);
                f.write_str(name.expect("every class without a format is in PLAIN"))
            }
        }
    }
}

/// A kernel class name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kernel class `{0}`; known: {known}", known = KernelClass::known())]
pub struct UnknownClass(pub String);

impl KernelClass {
    /// Every class name, for error messages.
    fn known() -> String {
        let plain = PLAIN.iter().map(|(c, _)| *c);
        let weighted = WeightFormat::ALL
            .into_iter()
            .flat_map(|f| [KernelClass::Linear(f), KernelClass::Conv(f)]);
        plain
            .chain(weighted)
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl FromStr for KernelClass {
    type Err = UnknownClass;

    fn from_str(s: &str) -> Result<Self, UnknownClass> {
        let unknown = || UnknownClass(s.to_string());
        if let Some((op, format)) = s.split_once('/') {
            let format: WeightFormat = format.parse().map_err(|()| unknown())?;
            return match op {
                "linear" => Ok(KernelClass::Linear(format)),
                "conv" => Ok(KernelClass::Conv(format)),
                _ => Err(unknown()),
            };
        }
        PLAIN.iter().find(|(_, n)| *n == s).map(|(c, _)| *c).ok_or_else(unknown)
    }
}

/// Profiles store classes by name, as map keys.
impl Serialize for KernelClass {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KernelClass {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// One step of a backend's plan: its kernel class and its work.
#[derive(Debug, Clone, PartialEq)]
pub struct StepWork {
    pub class: KernelClass,
    pub work: Work,
}

/// A prepared graph that can say what work each of its steps does, in the order its profiled
/// runs time them, followed by one [`KernelClass::Io`] entry: what a latency model predicts.
pub trait ReportsWork {
    fn work(&self) -> Vec<StepWork>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_reads_back_from_its_name() {
        let classes = PLAIN.iter().map(|(c, _)| *c).chain(
            WeightFormat::ALL
                .iter()
                .flat_map(|&f| [KernelClass::Linear(f), KernelClass::Conv(f)]),
        );
        for class in classes {
            let name = class.to_string();
            assert_eq!(name.parse::<KernelClass>(), Ok(class), "{name}");
            assert!(
                KernelClass::known().contains(&name),
                "{name} missing from the known list"
            );
        }
        assert_eq!(
            KernelClass::Linear(WeightFormat::Block(Some(StripHeight::H4))).to_string(),
            "linear/block/h4"
        );
        for bad in ["linear", "linear/block/h2", "gemm/dense", "Attention", ""] {
            let err = bad.parse::<KernelClass>().unwrap_err();
            assert!(err.to_string().contains("linear/block/h8"), "{err}");
        }
    }

    #[test]
    fn values_follow_the_names() {
        let w = Work {
            calls: 1.0,
            macs: 2.0,
            macs_h4: 3.0,
            macs_h1: 4.0,
            elements: 5.0,
            transcendentals: 6.0,
            weight_bytes: 7.0,
            act_bytes: 8.0,
            runs: 9.0,
        };
        let json = serde_json_like(&w);
        for (name, v) in Work::NAMES.iter().zip(w.values()) {
            assert!(json.contains(&format!("{name}:{v}")), "{name} in {json}");
        }
    }

    /// The RON of a work record, without spaces: field names are the schema's names.
    fn serde_json_like(w: &Work) -> String {
        ron::to_string(w).unwrap().replace(' ', "")
    }
}
