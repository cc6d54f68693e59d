//! The device profiles shipped in `device-profiles/`, compiled into the binary so that a name
//! picks one from any working folder; a path still picks a file.

use crate::error::Result;
use crate::profile::DeviceProfile;

/// File stem and RON text of every built-in profile.
pub const BUILTIN_PROFILES: &[(&str, &str)] = &[
    (
        "snapdragon-855",
        include_str!("../../../device-profiles/snapdragon-855.ron"),
    ),
    (
        "rt3-reference",
        include_str!("../../../device-profiles/rt3-reference.ron"),
    ),
    (
        "host-intel-xeon-2c",
        include_str!("../../../device-profiles/host-intel-xeon-2c.ron"),
    ),
    (
        "host-amd-epyc-2c",
        include_str!("../../../device-profiles/host-amd-epyc-2c.ron"),
    ),
    (
        "host-amd-epyc-zen3-2c",
        include_str!("../../../device-profiles/host-amd-epyc-zen3-2c.ron"),
    ),
];

impl DeviceProfile {
    /// The built-in profile of this name, or `None` when there is none.
    pub fn builtin(name: &str) -> Option<Result<Self>> {
        BUILTIN_PROFILES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| Self::from_ron(text, &format!("built-in profile `{n}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_parses() {
        for (name, _) in BUILTIN_PROFILES {
            DeviceProfile::builtin(name).unwrap().unwrap();
        }
        assert!(DeviceProfile::builtin("nope").is_none());
    }
}
