//! Criterion benchmarks live in `benches/`; this library is empty so the package builds.
