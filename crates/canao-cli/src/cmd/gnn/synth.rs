//! `canao gnn synth`: a synthetic citation graph of PubMed's size (or another), written in the
//! dataset layout the other subcommands read.

use std::path::PathBuf;

use anyhow::Result;
use canao_gnn::synth::SynthConfig;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = SynthConfig::default().nodes)]
    nodes: usize,
    #[arg(long, default_value_t = SynthConfig::default().edges)]
    edges: usize,
    #[arg(long, default_value_t = SynthConfig::default().features)]
    features: usize,
    #[arg(long, default_value_t = SynthConfig::default().classes)]
    classes: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The dataset file to write (safetensors).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(a: Args) -> Result<()> {
    let config = SynthConfig {
        nodes: a.nodes,
        edges: a.edges,
        features: a.features,
        classes: a.classes,
        ..SynthConfig::default()
    };
    let data = config.generate(a.seed)?;
    data.save(&a.out)?;
    let max_degree = degrees(&data).into_iter().max().unwrap_or(0);
    println!(
        "{} nodes, {} edges (mean degree {:.2}, max {max_degree}), {} features, {} classes -> {}",
        data.nodes(),
        data.graph.edge_count(),
        2.0 * data.graph.edge_count() as f64 / data.nodes() as f64,
        data.features.dims(),
        data.classes,
        a.out.display()
    );
    Ok(())
}

fn degrees(data: &canao_gnn::Dataset) -> Vec<usize> {
    let mut d = vec![0; data.nodes()];
    for (u, v) in data.graph.edges() {
        d[u] += 1;
        d[v] += 1;
    }
    d
}
