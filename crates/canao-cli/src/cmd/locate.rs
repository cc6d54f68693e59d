//! `--space` and `--device` arguments: a path picks a file, a name picks a built-in one (compiled
//! into the binary, so it works from any folder). A profile name is first looked up under
//! `device-profiles/` of the working folder, where `canao profile` writes (and rewrites) this
//! host's, so a fresh calibration is never shadowed by the built-in copy of the same name.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use canao_calibrate::running_isa;
use canao_latency::{BUILTIN_PROFILES, DeviceProfile, HostFit, cpu_id, host_fit};
use canao_search::{BUILTIN_SPACES, SearchSpace};

/// Whether an argument is meant as a path rather than a name.
fn looks_like_path(arg: &str) -> bool {
    arg.contains(std::path::MAIN_SEPARATOR) || arg.contains('/') || arg.ends_with(".ron")
}

fn names(list: &[(&str, &str)]) -> String {
    list.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// A search space by path or built-in name.
pub fn load_space(arg: &str) -> Result<SearchSpace> {
    let path = Path::new(arg);
    if path.is_file() || looks_like_path(arg) {
        return Ok(SearchSpace::from_file(path)?);
    }
    match SearchSpace::builtin(arg) {
        Some(space) => Ok(space?),
        None => bail!(
            "search space `{arg}` is neither a file nor a built-in space ({})",
            names(BUILTIN_SPACES)
        ),
    }
}

/// A device profile by path, name under `device-profiles/`, or built-in name.
pub fn load_profile(arg: &str) -> Result<DeviceProfile> {
    let local = PathBuf::from(format!("device-profiles/{arg}.ron"));
    // A local file wins over the built-in of its name: `canao profile` rewrites this host's.
    let path = if Path::new(arg).is_file() || looks_like_path(arg) {
        PathBuf::from(arg)
    } else if local.is_file() {
        local
    } else if let Some(profile) = DeviceProfile::builtin(arg) {
        return Ok(profile?);
    } else {
        bail!(
            "device profile `{arg}` is neither a file, a built-in profile ({}) nor a file under \
             device-profiles/ (`canao profile` writes this host's there)",
            names(BUILTIN_PROFILES)
        );
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading device profile {}", path.display()))?;
    Ok(DeviceProfile::from_ron(&text, &path.display().to_string())?)
}

/// Refuses a host profile measured on another CPU model or instruction set, whose predictions do
/// not hold here; with `other_host` it warns loudly instead and goes on. Profiles of devices that
/// were not measured by `canao profile` (published or derived figures) pass.
pub fn check_host(profile: &DeviceProfile, other_host: bool) -> Result<()> {
    let HostFit::Differs(what) = host_fit(profile, &cpu_id(), &running_isa()) else {
        return Ok(());
    };
    if other_host {
        eprintln!(
            "WARNING: device profile {} does not describe this host ({what}); its predictions are \
             not this host's latency (--other-host)",
            profile.name
        );
        return Ok(());
    }
    bail!(
        "device profile {} does not describe this host: {what}. Its predictions do not hold here: \
         run `canao profile` to fit this host, or pass --other-host to use it anyway",
        profile.name
    )
}
