//! `canao`: compiler-aware architecture search and compression. One file per subcommand.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "canao",
    version,
    about = "Compiler-aware neural architecture search and compression"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fetch, verify and list the models and data sets canao uses.
    Assets(cmd::assets::Args),
    /// Print a model's graph: nodes, parameters, FLOPs and bytes per op kind.
    Inspect(cmd::inspect::Args),
    /// Sentence embeddings of texts and their cosine-similarity matrix.
    Embed(cmd::embed::Args),
    /// Run a model on texts and print everything as JSON (embeddings, timings, configuration).
    Run(cmd::embed::Args),
    /// Benchmark the CPU kernels or a whole model.
    Bench(cmd::bench::Args),
    /// Calibrate the latency model on this host's kernels and write its device profile.
    Profile(cmd::profile::Args),
    /// Predict latency and energy of an architecture on a device profile, or validate the
    /// prediction against measurements here.
    Predict(cmd::predict::Args),
    /// Search students of MiniLM for the best accuracy under a device's latency limit (the
    /// main job; with no arguments: RL on the phone profile at half the teacher's latency).
    Search(cmd::search::Args),
    /// Evaluate candidates of searches kept in PostgreSQL (`canao search --storage URL`), on
    /// this machine, beside any number of other workers.
    Worker(cmd::worker::Args),
    /// Compare the search strategies at equal budget over seeds and latency limits.
    Compare(cmd::compare::Args),
    /// RT3's run-time reconfiguration: pattern sets per DVFS level, switched as the level changes.
    #[command(subcommand)]
    Reconfig(cmd::reconfig::Command),
    /// Export a model (or a student of it) as ONNX or as a canao deployment bundle.
    Export(cmd::export::Args),
    /// Train a model on a task: fine-tune MiniLM on Rotten Tomatoes, LeNet-5 on Fashion-MNIST.
    Train(cmd::train::Args),
    /// Distil a student of MiniLM from a fine-tuned teacher (a `canao train` run).
    Distill(cmd::train::DistillArgs),
    /// Prune a trained LeNet-5 to a structure at a compression rate (magnitude, ADMM or SLR),
    /// then retrain under the mask.
    Prune(cmd::prune::Args),
    /// Tabulate and plot the `canao prune` runs under a folder (ADMM against SLR per rate).
    ComparePruning(cmd::compare_pruning::Args),
    /// GCNs on citation graphs: train, attack with edge flips, train robustly, evaluate.
    Gnn(cmd::gnn::Args),
    /// Privacy: federated learning with sparsified updates sealed for an enclave aggregator, and
    /// membership inference against dense, pruned and DP-SGD models.
    Privacy(cmd::privacy::Args),
    /// (Re)build the static HTML page (index.html) of run folders.
    Report(cmd::report::Args),
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`canao inspect | head -1`) makes
/// `println!` panic. The default action ends the process quietly, as a shell tool should.
#[cfg(unix)]
#[allow(unsafe_code)]
fn quiet_on_closed_pipe() {
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn quiet_on_closed_pipe() {}

fn main() -> anyhow::Result<()> {
    quiet_on_closed_pipe();
    match Cli::parse().command {
        Command::Assets(a) => cmd::assets::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Embed(a) => cmd::embed::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Profile(a) => cmd::profile::run(a),
        Command::Predict(a) => cmd::predict::run(a),
        Command::Export(a) => cmd::export::run(a),
        Command::Search(a) => cmd::search::run(a),
        Command::Worker(a) => cmd::worker::run(a),
        Command::Compare(a) => cmd::compare::run(a),
        Command::Reconfig(c) => cmd::reconfig::run(c),
        Command::Train(a) => cmd::train::run(a),
        Command::Distill(a) => cmd::train::distill(a),
        Command::Prune(a) => cmd::prune::run(a),
        Command::ComparePruning(a) => cmd::compare_pruning::run(a),
        Command::Gnn(a) => cmd::gnn::run(a),
        Command::Privacy(a) => cmd::privacy::run(a),
        Command::Report(a) => cmd::report::run(a),
    }
}
