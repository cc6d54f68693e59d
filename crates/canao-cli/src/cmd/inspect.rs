use std::path::PathBuf;

use anyhow::Result;
use canao_ir::pass::Pipeline;
use serde_json::json;

use crate::cmd::model::{self, ModelKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A built-in model.
    #[arg(long, value_enum)]
    model: Option<ModelKind>,
    /// An architecture RON file instead of a built-in model.
    #[arg(long)]
    arch: Option<PathBuf>,
    /// Sequence length for BERT-family models (default: the architecture file's, else 128).
    #[arg(long)]
    seq: Option<usize>,
    /// Which passes run first: none (the graph as built), standard (canonical form, what export
    /// reads) or kernels (the fused graph the CPU and WGSL backends map to kernels).
    #[arg(long, value_enum, default_value_t = Passes::Kernels)]
    passes: Passes,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Print the IR text form.
    #[arg(long)]
    text: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Passes {
    None,
    Standard,
    Kernels,
}

pub fn run(a: Args) -> Result<()> {
    let mut g = model::graph(a.model, a.arch.as_deref(), a.seq)?;
    let pipeline = match a.passes {
        Passes::None => Pipeline::new(Vec::new()),
        Passes::Standard => Pipeline::standard(),
        Passes::Kernels => Pipeline::kernels(),
    };
    let fired = pipeline.run(&mut g)?;
    if a.text {
        print!("{g}");
        return Ok(());
    }
    let c = g.cost();
    if a.json {
        let kinds: serde_json::Map<String, serde_json::Value> = c
            .by_kind
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    json!({"count": v.count, "flops": v.cost.flops, "bytes": v.cost.bytes, "params": v.cost.params}),
                )
            })
            .collect();
        let out = json!({
            "graph": g.name(),
            "passes": pipeline.to_string(),
            "rewrites": fired.iter().map(|(rule, n)| json!({"rule": rule, "count": n})).collect::<Vec<_>>(),
            "nodes": c.nodes,
            "params": c.params,
            "flops": c.total.flops,
            "bytes": c.total.bytes,
            "by_kind": kinds,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("graph {} ({} nodes, {} parameters)", g.name(), c.nodes, c.params);
    if a.passes != Passes::None {
        let counts: Vec<String> = fired.iter().map(|(rule, n)| format!("{rule} {n}")).collect();
        println!("passes: {pipeline} ({})", counts.join(", "));
    }
    println!(
        "{:<16} {:>6} {:>14} {:>14} {:>12}",
        "op", "count", "MFLOP", "MB moved", "params"
    );
    for (k, v) in &c.by_kind {
        println!(
            "{:<16} {:>6} {:>14.2} {:>14.2} {:>12}",
            k,
            v.count,
            v.cost.flops as f64 / 1e6,
            v.cost.bytes as f64 / 1e6,
            v.cost.params
        );
    }
    println!(
        "{:<16} {:>6} {:>14.2} {:>14.2} {:>12}",
        "total",
        c.nodes,
        c.total.flops as f64 / 1e6,
        c.total.bytes as f64 / 1e6,
        c.params
    );
    println!("= {:.3} GFLOP", c.total.flops as f64 / 1e9);
    Ok(())
}
