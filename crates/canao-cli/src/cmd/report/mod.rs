//! `canao report DIR...`: (re)builds each run folder's `index.html`, a page that needs no server
//! and no network. Long jobs call [`refresh`] as they write their reports, so a browser refresh
//! shows progress.

mod html;
mod page;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

pub use page::write_index;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run folders: the output folder of any canao run (search, train, prune, gnn, privacy,
    /// reconfig, profile, ...).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<()> {
    for dir in &a.dirs {
        if !dir.is_dir() {
            bail!("{} is not a run folder (no such directory)", dir.display());
        }
        println!("{}", write_index(dir)?.display());
    }
    Ok(())
}

/// Rewrites `dir/index.html`; a failure is reported and the run goes on (the page is a view of
/// the run's files, never a reason to lose the run).
pub fn refresh(dir: &Path) {
    if let Err(e) = write_index(dir) {
        eprintln!("warning: could not write {}/index.html: {e:#}", dir.display());
    }
}
