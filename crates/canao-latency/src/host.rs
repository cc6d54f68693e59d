//! The machine `canao profile` runs on: what it is (from /proc and sysfs), its memory bandwidth
//! (measured), and the profile a calibration on it becomes.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::fitted::Fitted;
use crate::profile::{
    ComputeUnit, CostModel, DeviceProfile, DvfsLevel, FORMAT_VERSION, Memory, Power, Provenance, Source,
};

/// Facts about this host.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    pub hostname: String,
    pub cpu: String,
    /// The instruction set the measured kernels run on here.
    pub isa: String,
    pub cores: usize,
    pub ghz: f64,
    pub caches_kib: Vec<u64>,
    pub bandwidth_gbs: f64,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The first `key : value` of /proc/cpuinfo.
fn cpuinfo(key: &str) -> Option<String> {
    read("/proc/cpuinfo")
        .lines()
        .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Cache sizes of cpu0 in KiB, L1 data first (instruction caches left out).
fn caches_kib() -> Vec<u64> {
    let mut caches: Vec<(u32, u64)> = (0..8)
        .filter_map(|i| {
            let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
            if read(&format!("{dir}/type")).trim() == "Instruction" {
                return None;
            }
            let level = read(&format!("{dir}/level")).trim().parse().ok()?;
            let size = read(&format!("{dir}/size"));
            let kib = size.trim().strip_suffix('K')?.parse().ok()?;
            Some((level, kib))
        })
        .collect();
    caches.sort_unstable();
    caches.into_iter().map(|(_, k)| k).collect()
}

/// This CPU's model name (/proc/cpuinfo), or the architecture where it has none.
pub fn cpu_model() -> String {
    cpuinfo("model name").unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// This CPU as a profile records it: the model name, then the family and model numbers where
/// /proc/cpuinfo has them. Virtual machines often hide the name (every AMD VM here is "AMD
/// EPYC", Zen 3 and Zen 4 alike); the numbers still tell the generations apart.
pub fn cpu_id() -> String {
    match (cpuinfo("cpu family"), cpuinfo("model")) {
        (Some(family), Some(model)) => format!("{} (family {family}, model {model})", cpu_model()),
        _ => cpu_model(),
    }
}

/// Whether a profile's cost model was measured on a CPU like the one running now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostFit {
    /// Not a measured host's profile (published, derived or analytic figures): nothing to check.
    NotHost,
    /// Fitted on this CPU model, with this instruction set where the profile records it.
    Same,
    /// Fitted elsewhere; what differs, in words.
    Differs(String),
}

/// Compares the CPU and instruction set `profile`'s model was measured with against `cpu` (the
/// running host's [`cpu_id`]) and `isa`. Profiles made before these were recorded are compared
/// on the CPU model name alone, taken from their CPU cluster.
pub fn host_fit(profile: &DeviceProfile, cpu: &str, isa: &str) -> HostFit {
    let Some((recorded_cpu, recorded_isa)) = profile.provenance.iter().find_map(|p| match &p.source {
        Source::Measured { cpu, isa, .. } if p.figure == "model" => Some((cpu.clone(), isa.clone())),
        _ => None,
    }) else {
        return HostFit::NotHost;
    };
    let name = cpu_name_of(profile);
    let (was, same_cpu) = match recorded_cpu {
        Some(id) => (id.trim().to_string(), id.trim() == cpu.trim()),
        // Only the model name was recorded: the running CPU's id must start with it.
        None => (
            name.to_string(),
            cpu.trim() == name || cpu.starts_with(&format!("{name} (")),
        ),
    };
    let mut differs = Vec::new();
    if !same_cpu {
        differs.push(format!("it was fitted on {was:?}, this host is {cpu:?}"));
    }
    if let Some(i) = recorded_isa.filter(|i| i != isa) {
        differs.push(format!("its kernels ran on {i}, here they run on {isa}"));
    }
    if differs.is_empty() {
        HostFit::Same
    } else {
        HostFit::Differs(differs.join("; "))
    }
}

/// The name of a profile's first CPU cluster ("" if it has none).
fn cpu_name_of(profile: &DeviceProfile) -> &str {
    profile
        .units
        .iter()
        .find_map(|u| match u {
            ComputeUnit::CpuCluster { name, .. } => Some(name.trim()),
            _ => None,
        })
        .unwrap_or("")
}

/// Read bandwidth in GB/s: the best of three sums over 1 GiB, more than any cache holds.
pub fn measure_bandwidth_gbs() -> f64 {
    let data = vec![1.0f32; 1 << 28];
    (0..3)
        .map(|_| {
            let start = Instant::now();
            // Eight independent sums so the adds do not serialise on one register.
            let mut acc = [0.0f32; 8];
            for c in data.chunks_exact(8) {
                for (a, v) in acc.iter_mut().zip(c) {
                    *a += v;
                }
            }
            std::hint::black_box(acc);
            4.0 * data.len() as f64 / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

impl Host {
    /// This host, its kernels running on instruction set `isa` (the backend being calibrated
    /// knows which).
    pub fn probe(isa: String) -> Self {
        let ghz = cpuinfo("cpu MHz")
            .and_then(|m| m.parse::<f64>().ok())
            .map_or(0.0, |m| m / 1e3);
        Self {
            hostname: read("/proc/sys/kernel/hostname").trim().to_string(),
            cpu: cpu_model(),
            isa,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ghz,
            caches_kib: caches_kib(),
            bandwidth_gbs: measure_bandwidth_gbs(),
        }
    }

    /// `host-<cpu>-<cores>c`, lower case, for file names.
    /// Bytes of the second-level cache (the largest private one on common CPUs): what keeps a
    /// model's weights warm between runs on one core.
    pub fn resident_bytes(&self) -> f64 {
        self.caches_kib
            .get(1)
            .or(self.caches_kib.first())
            .map_or(0.0, |&k| k as f64 * 1024.0)
    }

    pub fn profile_name(&self) -> String {
        let mut slug = String::new();
        for w in self
            .cpu
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let w = w.to_ascii_lowercase();
            if !matches!(w.as_str(), "r" | "tm" | "cpu" | "processor" | "with") && !slug.contains(&w) {
                slug.push_str(&w);
                slug.push('-');
            }
        }
        format!("host-{slug}{}c", self.cores)
    }

    /// The profile of this host with a fitted model. There is one DVFS level, the frequency the
    /// kernel reports; power is not measurable here (no power counters), so it is an assumed
    /// figure, and provenance says so.
    pub fn profile(&self, fitted: Fitted, csv: &str) -> DeviceProfile {
        let threads = fitted.threads;
        const WATTS_PER_CORE: f64 = 7.0;
        let measured = Source::Measured {
            host: self.hostname.clone(),
            date: today(),
            cpu: Some(cpu_id()),
            isa: Some(self.isa.clone()),
        };
        let prov = |figure: &str, source: Source| Provenance {
            figure: figure.into(),
            source,
        };
        DeviceProfile {
            version: FORMAT_VERSION,
            name: self.profile_name(),
            units: vec![ComputeUnit::CpuCluster {
                name: self.cpu.clone(),
                cores: self.cores,
                max_ghz: self.ghz,
                levels_ghz: vec![self.ghz],
            }],
            dvfs: vec![DvfsLevel {
                name: "nominal".into(),
                ghz: self.ghz,
                volts: None,
                power: Power::Watts(WATTS_PER_CORE * threads as f64),
                limit_ms: None,
            }],
            memory: Memory {
                bandwidth_gbs: self.bandwidth_gbs,
                caches_kib: self.caches_kib.clone(),
            },
            model: CostModel::Fitted(Fitted {
                calibration_csv: Some(csv.to_string()),
                ..fitted
            }),
            battery: None,
            provenance: vec![
                prov("units, dvfs[0].ghz, memory.caches_kib", measured.clone()),
                prov("memory.bandwidth_gbs", measured.clone()),
                prov("model", measured),
                prov(
                    "dvfs[0].power",
                    Source::Assumed {
                        reason: format!(
                            "no power counters on this host: {WATTS_PER_CORE} W per busy core, a typical server core under vector load"
                        ),
                    },
                ),
            ],
        }
    }
}

/// Today's date (UTC) as YYYY-MM-DD.
pub fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Civil date from days since 1970-01-01 (proleptic Gregorian, 400-year eras).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
