//! Training in canao: burn models of the IR's architectures whose parameters carry canao's
//! names (so trained weights run through every backend and export), the tasks and their fixed
//! splits, and a resumable training loop.

pub mod bert;
pub mod checkpoint;
mod clip;
pub mod constraint;
pub mod data;
pub mod distill;
mod error;
pub mod group_lasso;
pub mod image_task;
pub mod joint;
pub mod layers;
pub mod learner;
pub mod lenet;
pub mod params;
pub mod prune;
pub mod regulariser;
mod spec;
mod split_penalty;
pub mod text_task;
pub mod trainer;

pub use bert::{BertClassifier, TokenBatch, add_head};
pub use clip::clip_global_norm;
pub use constraint::Constraints;
pub use distill::{DistillLoss, Distillation};
pub use error::{Result, TrainError};
pub use group_lasso::{GroupLasso, GroupLassoParams};
pub use image_task::ImageClassification;
pub use learner::Learner;
pub use lenet::{LeNet, init_lenet};
pub use prune::{PruneConfig, PruneMethod, PruneReport, Pruned, prune};
pub use regulariser::{EpochEnd, NoPenalty, Proximal, Regulariser, RegulariserState};
pub use spec::ModelSpec;
pub use split_penalty::SplitPenalty;
pub use text_task::TextClassification;
pub use trainer::{Outcome, Progress, Shaping, TrainConfig, train, train_with};
