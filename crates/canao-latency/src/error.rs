/// Errors of the latency crate; each names the file, field or level involved.
#[derive(Debug, thiserror::Error)]
pub enum LatencyError {
    #[error("{origin}: {detail}")]
    Ron { origin: String, detail: String },
    #[error("{origin}: field `{field}`: {detail}")]
    Field {
        origin: String,
        field: String,
        detail: String,
    },
    #[error("profile `{profile}` has no DVFS level {level} (it has {count})")]
    Level {
        profile: String,
        level: usize,
        count: usize,
    },
    #[error("profile `{profile}` has a {kind} cost model; {wanted}")]
    Model {
        profile: String,
        kind: &'static str,
        wanted: String,
    },
    #[error("profile `{profile}` has no coefficients for kernel class `{class}`; calibrate it with `canao profile`")]
    Class {
        profile: String,
        class: canao_ir::KernelClass,
    },
    #[error("measuring: {0}")]
    Measure(String),
    /// The backend a prediction plans with failed to prepare the graph.
    #[error("planning on the backend: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    #[error("{origin}:{line}: {detail}")]
    Trace {
        origin: String,
        line: usize,
        detail: String,
    },
}

pub type Result<T> = std::result::Result<T, LatencyError>;
