//! The WGSL compute shaders canao generates for a bundled model, shipped beside its weights so a
//! GPU deployment can use (or inspect) exactly the kernels canao checked. WGSL kernels are
//! specialised to their shapes and to each weight's sparsity, so they are generated for one
//! sequence length, [`SHADER_SEQ`]; canao's own wgpu runtime regenerates them for other lengths.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use canao_models::MiniLm;

use crate::error::{ExportError, Result};

/// Tokens per sequence the shipped shaders are generated for.
pub const SHADER_SEQ: usize = 128;
/// The folder inside a bundle.
pub const SHADER_DIR: &str = "shaders";

/// Bundle files (name -> contents): one `.wgsl` per distinct kernel and `shaders/plan.txt`, the
/// dispatch order with each step's IR node, shader file and workgroup counts.
pub fn shader_files(model: &MiniLm) -> Result<BTreeMap<String, Vec<u8>>> {
    let graph = model.graph(SHADER_SEQ)?;
    let plan = canao_wgsl::lower(&graph, model.weights()).map_err(|e| ExportError::Bundle {
        file: SHADER_DIR.into(),
        detail: e.to_string(),
    })?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    // Source -> file, so steps running the same kernel (same shapes, same mask) share a file.
    let mut by_source: BTreeMap<&str, String> = BTreeMap::new();
    let mut listing = format!(
        "# WGSL dispatches of {} at {SHADER_SEQ} tokens, in order: step, IR node, shader, workgroups\n",
        graph.name()
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let k = &step.kernel;
        let file = match by_source.get(k.source.as_str()) {
            Some(f) => f.clone(),
            None => {
                // Kernels of one name with different baked masks get numbered files.
                let mut name = format!("{SHADER_DIR}/{}.wgsl", k.name);
                let mut n = 2;
                while files.contains_key(&name) {
                    name = format!("{SHADER_DIR}/{}-{n}.wgsl", k.name);
                    n += 1;
                }
                files.insert(name.clone(), k.source.clone().into_bytes());
                by_source.insert(&k.source, name.clone());
                name
            }
        };
        let [x, y, z] = k.workgroups;
        let _ = writeln!(listing, "{i:4}  {:<24} {file:<48} ({x}, {y}, {z})", step.node);
    }
    files.insert(format!("{SHADER_DIR}/plan.txt"), listing.into_bytes());
    Ok(files)
}
