//! The search spaces shipped in `search-spaces/`, compiled into the binary so that a name picks
//! one from any working folder; a path still picks a file.

use crate::error::Result;
use crate::space::SearchSpace;

/// Name and RON text of every built-in space.
pub const BUILTIN_SPACES: &[(&str, &str)] = &[
    ("minilm", include_str!("../../../search-spaces/minilm.ron")),
    ("bert-base", include_str!("../../../search-spaces/bert-base.ron")),
];

impl SearchSpace {
    /// The built-in space of this name, or `None` when there is none.
    pub fn builtin(name: &str) -> Option<Result<Self>> {
        BUILTIN_SPACES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| Self::from_ron(text, &format!("built-in space `{n}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_space_parses_and_carries_its_name() {
        for (name, _) in BUILTIN_SPACES {
            let s = SearchSpace::builtin(name).unwrap().unwrap();
            assert_eq!(s.name, *name);
        }
        assert!(SearchSpace::builtin("nope").is_none());
    }
}
