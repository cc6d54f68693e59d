//! A run's resolved configuration (`run.ron` in its folder), written before the first
//! evaluation. With the run's log it is all a resumed run needs: the strategy is rebuilt from
//! its seed and replayed against the logged rewards (see [`crate::Runner`]), so a library user
//! resumes a run with [`RunConfig::read`], [`RunConfig::strategy`] and [`RunConfig::runner`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::objective::{Evaluation, Objective, Reward};
use crate::runner::{Budget, Runner};
use crate::space::SearchSpace;
use crate::strategy::{Strategy, StrategyKind};
use crate::student_objective::Task;

/// The run.ron format version this build writes and reads.
pub const RUN_VERSION: u32 = 1;

/// The file a run folder keeps its configuration in.
pub const RUN_FILE: &str = "run.ron";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub version: u32,
    /// The space as it was named (a built-in name or a path); `space` is its content.
    pub space_file: String,
    pub space: SearchSpace,
    /// The device profile as it was named (a built-in name or a path).
    pub device: String,
    pub level: usize,
    pub reward: Reward,
    pub strategy: StrategyKind,
    pub seed: u64,
    pub budget: Budget,
    /// Points asked of the strategy at once (what the run's result depends on; older runs
    /// called it `parallel`).
    #[serde(alias = "parallel")]
    pub batch: usize,
    /// The PostgreSQL study holding the run's records; `None`: log.jsonl in the run folder.
    #[serde(default)]
    pub study: Option<String>,
    pub task: Task,
    pub measure: bool,
    /// The teacher scored like every candidate; the default limit derives from its latency.
    pub teacher: Evaluation,
}

fn io(path: &Path, e: impl std::fmt::Display) -> SearchError {
    SearchError::Io {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

impl RunConfig {
    /// The configuration of the run in `dir`, refusing another format version.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(RUN_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        Self::from_ron(&text, &path)
    }

    /// Parses run.ron text; `origin` names it in errors.
    pub fn from_ron(text: &str, origin: &Path) -> Result<Self> {
        let config: RunConfig = ron::from_str(text).map_err(|e| SearchError::Ron {
            origin: origin.display().to_string(),
            detail: e.to_string(),
        })?;
        if config.version != RUN_VERSION {
            return Err(SearchError::Field {
                origin: origin.display().to_string(),
                field: "version".into(),
                detail: format!("is {}, this build reads {RUN_VERSION}", config.version),
            });
        }
        Ok(config)
    }

    /// Writes `dir`/run.ron whole or not at all (through a temporary file renamed over it).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default()).expect("configs serialise");
        let tmp = Self::scratch_path(dir);
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        let path = dir.join(RUN_FILE);
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
    }

    /// The temporary file [`Self::write`] goes through; writing it first tells whether `dir`
    /// is writable before anything expensive runs.
    pub fn scratch_path(dir: &Path) -> PathBuf {
        dir.join(format!("{RUN_FILE}.tmp"))
    }

    /// The run's strategy, fresh from its seed: told the logged rewards again, it asks the
    /// points it asked before.
    pub fn strategy(&self) -> Result<Box<dyn Strategy>> {
        self.strategy.build(&self.space.cardinalities(), self.seed)
    }

    /// The runner of this run over `objective` (which must score the space and task this
    /// configuration names).
    pub fn runner<'a>(&self, objective: &'a dyn Objective) -> Runner<'a> {
        Runner {
            objective,
            reward: self.reward,
            budget: self.budget,
            batch: self.batch,
        }
    }
}
