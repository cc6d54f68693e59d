//! DVFS traces and their replay (RT3's run-time setting, ALGORITHMS.md §4): the device's
//! frequency level changes over time while inference requests arrive, each with a deadline.
//! Replaying a trace against a model's latency at each level counts missed deadlines and the
//! energy spent, so a model that switches pattern sets with the level can be set against a fixed
//! dense model and a fixed single pattern set.
//!
//! A trace is CSV: `time_ms,event,value` with events `level` (the level from then on, an index
//! into the profile's DVFS levels) and `request` (a relative deadline in ms); `#` starts a
//! comment. Times never decrease, and the first event sets the level.

use crate::error::{LatencyError, Result};
use crate::profile::DeviceProfile;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    Level(usize),
    Request { deadline_ms: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// (time in ms, event), in time order.
    pub events: Vec<(f64, Event)>,
}

impl Trace {
    /// Reads a trace for `profile` (whose DVFS levels its `level` events name); `origin` names
    /// the file in errors.
    pub fn parse(text: &str, origin: &str, profile: &DeviceProfile) -> Result<Self> {
        let mut events = Vec::new();
        let mut last = f64::NEG_INFINITY;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with("time_ms") {
                continue;
            }
            let fail = |detail: String| LatencyError::Trace {
                origin: origin.into(),
                line: i + 1,
                detail,
            };
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [time, kind, value] = fields[..] else {
                return Err(fail(format!("expected time_ms,event,value, got `{line}`")));
            };
            let number = |what: &str, text: &str| -> Result<f64> {
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| fail(format!("{what} `{text}` is not a number of at least 0")))
            };
            let t = number("time", time)?;
            if t < last {
                return Err(fail(format!("time {t} ms comes before the previous event's {last} ms")));
            }
            last = t;
            let event = match kind {
                "level" => {
                    let level: usize = value
                        .parse()
                        .map_err(|_| fail(format!("level `{value}` is not an index")))?;
                    if level >= profile.dvfs.len() {
                        return Err(fail(format!(
                            "level {level}: profile `{}` has {} DVFS levels",
                            profile.name,
                            profile.dvfs.len()
                        )));
                    }
                    Event::Level(level)
                }
                "request" => Event::Request {
                    deadline_ms: number("deadline", value)?,
                },
                other => return Err(fail(format!("unknown event `{other}` (level or request)"))),
            };
            if events.is_empty() && !matches!(event, Event::Level(_)) {
                return Err(fail("the first event must set the level".into()));
            }
            events.push((t, event));
        }
        if events.is_empty() {
            return Err(LatencyError::Trace {
                origin: origin.into(),
                line: 0,
                detail: "no events".into(),
            });
        }
        Ok(Self { events })
    }
}

/// How a model runs at each DVFS level.
#[derive(Debug, Clone, PartialEq)]
pub struct Runs<'a> {
    /// Latency of one inference at each level.
    pub latency_ms: &'a [f64],
    /// Time to change configuration when the level changes (0 for a model that does not).
    pub switch_ms: f64,
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Replay {
    pub requests: usize,
    pub missed: usize,
    pub joules: f64,
    pub busy_ms: f64,
    pub switches: usize,
    /// When the last request finished.
    pub end_ms: f64,
}

/// Replays `trace`: requests are served one at a time in arrival order, each at the level active
/// when it starts, taking that level's latency (after the switch, when the level changed since
/// the model last ran); it misses its deadline if it finishes after arrival + deadline. Energy is
/// each level's power times the time spent running and switching at it.
pub fn replay(trace: &Trace, profile: &DeviceProfile, runs: &Runs<'_>) -> Result<Replay> {
    if runs.latency_ms.len() != profile.dvfs.len() {
        return Err(LatencyError::Level {
            profile: profile.name.clone(),
            level: runs.latency_ms.len(),
            count: profile.dvfs.len(),
        });
    }
    let mut out = Replay::default();
    let (mut level, mut configured) = (0, None);
    let mut free_at = 0.0f64;
    for (i, &(t, event)) in trace.events.iter().enumerate() {
        match event {
            Event::Level(l) => level = l,
            Event::Request { deadline_ms } => {
                let start = free_at.max(t);
                // The level when the request starts: later level events up to then apply.
                let at = level_at(trace, i, start).unwrap_or(level);
                let switch = if configured.is_some_and(|c| c != at) {
                    runs.switch_ms
                } else {
                    0.0
                };
                out.switches += usize::from(switch > 0.0);
                configured = Some(at);
                let busy = switch + runs.latency_ms[at];
                free_at = start + busy;
                out.requests += 1;
                out.missed += usize::from(free_at > t + deadline_ms);
                out.busy_ms += busy;
                out.joules += profile.dvfs[at].watts() * busy / 1e3;
                out.end_ms = free_at;
            }
        }
    }
    Ok(out)
}

/// The last level set at or before `time` by events after index `after` (None: no such event).
fn level_at(trace: &Trace, after: usize, time: f64) -> Option<usize> {
    trace.events[after + 1..]
        .iter()
        .take_while(|(t, _)| *t <= time)
        .filter_map(|(_, e)| match e {
            Event::Level(l) => Some(*l),
            Event::Request { .. } => None,
        })
        .last()
}
