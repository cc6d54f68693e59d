//! The vector instruction sets the CPU kernels are compiled for, and the choice among them at run
//! time. Every microkernel has one generic definition (`kernels/simd.rs`, over pulp's `Simd`)
//! that pulp compiles once per instruction set inside a `#[target_feature]` function; the
//! portable loops beside each kernel are the definition they are checked against, and run where
//! no vector set is available.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::error::{CpuError, Result};

/// The environment variable that forces an instruction set (`avx512`, `avx2`, `neon`,
/// `portable`), so one machine can run and measure every path it supports.
pub const ISA_ENV: &str = "CANAO_CPU_ISA";

/// A vector instruction set the kernels have a path for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Plain loops (the definition), vectorised only as far as the build's target allows.
    Portable,
    /// x86-64 AVX2 + FMA (256-bit, 16 registers).
    Avx2,
    /// x86-64 AVX-512F (512-bit, 32 registers).
    Avx512,
    /// aarch64 Advanced SIMD (128-bit, 32 registers).
    Neon,
}

impl Isa {
    pub const ALL: [Isa; 4] = [Isa::Avx512, Isa::Avx2, Isa::Neon, Isa::Portable];

    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// Whether this CPU can run the path (checked by std's feature detection, cached).
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => pulp::x86::V3::try_new().is_some(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => pulp::x86::V4::try_new().is_some(),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => pulp::aarch64::Neon::try_new().is_some(),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Every path this CPU can run, widest first; `Portable` last.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The widest path this CPU can run.
    pub fn detect() -> Isa {
        Isa::available()[0]
    }

    /// The path kernels use unless told otherwise: `CANAO_CPU_ISA` when set (an error if this
    /// CPU cannot run it or the name is unknown), else [`Isa::detect`]. Read once per process.
    pub fn active() -> Result<Isa> {
        static ACTIVE: OnceLock<std::result::Result<Isa, (String, String)>> = OnceLock::new();
        ACTIVE
            .get_or_init(|| match std::env::var(ISA_ENV) {
                Ok(v) if !v.is_empty() => v.parse::<Isa>().and_then(Isa::checked).map_err(|e| match e {
                    CpuError::Isa { detail, .. } => (format!("{ISA_ENV}={v}"), detail),
                    other => (format!("{ISA_ENV}={v}"), other.to_string()),
                }),
                _ => Ok(Isa::detect()),
            })
            .clone()
            .map_err(|(given, detail)| CpuError::Isa { given, detail })
    }

    /// `self` if this CPU can run it, else an error naming the paths it can run.
    pub fn checked(self) -> Result<Isa> {
        if self.is_available() {
            return Ok(self);
        }
        let here: Vec<&str> = Isa::available().into_iter().map(Isa::name).collect();
        Err(CpuError::Isa {
            given: self.name().into(),
            detail: format!("this CPU cannot run the {self} path (it runs {})", here.join(", ")),
        })
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = CpuError;

    fn from_str(s: &str) -> Result<Isa> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| CpuError::Isa {
                given: s.into(),
                detail: "unknown instruction set: expected avx512, avx2, neon or portable".into(),
            })
    }
}

/// A kernel body with a vector path and the portable one it is checked against. [`Isa::run`]
/// calls `simd` inside a function compiled for the chosen instruction set, so everything it
/// inlines (pulp's operations and the `#[inline(always)]` helpers) uses that set.
pub(crate) trait Kernel {
    type Output;
    fn simd<S: pulp::Simd>(self, s: S) -> Self::Output;
    fn portable(self) -> Self::Output;
}

/// Plain loops run in the chosen set's context: the closure has one call site, inside the
/// function pulp compiles for the set, so the compiler inlines it there and vectorises its loops
/// for that set.
pub(crate) struct Loops<F>(pub F);

impl<R, F: FnOnce() -> R> Kernel for Loops<F> {
    type Output = R;

    #[inline(always)]
    fn simd<S: pulp::Simd>(self, _: S) -> R {
        (self.0)()
    }

    fn portable(self) -> R {
        (self.0)()
    }
}

/// pulp's entry point for a [`Kernel`].
struct Vectorized<K>(K);

impl<K: Kernel> pulp::WithSimd for Vectorized<K> {
    type Output = K::Output;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, s: S) -> K::Output {
        self.0.simd(s)
    }
}

impl Isa {
    /// Runs `k` on this path. A path this CPU lacks runs the portable loop: every public way to
    /// choose an `Isa` for a plan ([`Isa::active`], [`Isa::checked`]) refuses one first, so this
    /// only guards the bench and test entry points.
    #[inline(always)]
    pub(crate) fn run<K: Kernel>(self, k: K) -> K::Output {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => match pulp::x86::V4::try_new() {
                Some(s) => pulp::Simd::vectorize(s, Vectorized(k)),
                None => k.portable(),
            },
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => match pulp::x86::V3::try_new() {
                Some(s) => pulp::Simd::vectorize(s, Vectorized(k)),
                None => k.portable(),
            },
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => match pulp::aarch64::Neon::try_new() {
                Some(s) => pulp::Simd::vectorize(s, Vectorized(k)),
                None => k.portable(),
            },
            _ => k.portable(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_names_are_refused() {
        for isa in Isa::ALL {
            assert_eq!(isa.name().parse::<Isa>().unwrap(), isa);
        }
        assert_eq!(" AVX2 ".parse::<Isa>().unwrap(), Isa::Avx2);
        let err = "sse9".parse::<Isa>().unwrap_err().to_string();
        assert!(
            err.contains("sse9") && err.contains("avx512, avx2, neon or portable"),
            "{err}"
        );
    }

    #[test]
    fn portable_always_runs_and_detect_picks_an_available_path() {
        assert!(Isa::Portable.is_available());
        assert_eq!(Isa::available().last(), Some(&Isa::Portable));
        assert!(Isa::detect().is_available());
        #[cfg(target_arch = "x86_64")]
        {
            assert!(!Isa::Neon.is_available());
            let err = Isa::Neon.checked().unwrap_err().to_string();
            assert!(
                err.contains("cannot run the neon path") && err.contains("portable"),
                "{err}"
            );
        }
        #[cfg(target_arch = "aarch64")]
        assert!(Isa::Neon.is_available() && !Isa::Avx2.is_available());
    }
}
