//! `canao privacy fl|leak|mia`: the privacy side of the research line: federated learning with
//! sealed, sparsified updates, gradient leakage (SAPAG against DLG), and membership inference
//! against dense and pruned models.

mod fl;
mod leak;
mod leak_report;
mod mia;

use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: PrivacyCommand,
}

#[derive(Debug, Subcommand)]
enum PrivacyCommand {
    /// Federated LeNet-5: top-k updates with error feedback, sealed (AES-256-GCM) for an
    /// enclave aggregator, against dense FedAvg in the same rounds.
    Fl(fl::Args),
    /// Gradient leakage: SAPAG against DLG on LeNet-5 (ReLU and sigmoid, two initialisations)
    /// at several training phases, against two trivial guesses, optionally top-k sparsified.
    Leak(leak::Args),
    /// Membership inference (loss, confidence, offline LiRA) against LeNet-5: dense,
    /// magnitude-pruned and DP-SGD, with every model cached in the run folder.
    Mia(mia::Args),
}

pub fn run(a: Args) -> Result<()> {
    match a.command {
        PrivacyCommand::Fl(a) => fl::run(a),
        PrivacyCommand::Leak(a) => leak::run(a),
        PrivacyCommand::Mia(a) => mia::run(a),
    }
}
