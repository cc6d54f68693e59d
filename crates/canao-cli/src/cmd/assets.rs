use anyhow::Result;
use canao_models::assets::{self, Asset};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Download and verify an asset (all of them when no name is given); repairs corrupt files.
    Fetch { name: Option<String> },
    /// Show every asset, where it comes from, and whether the cached copy verifies.
    List,
}

pub fn run(a: Args) -> Result<()> {
    let home = assets::canao_home();
    match a.action {
        Action::Fetch { name } => {
            let chosen: Vec<Asset> = match name {
                Some(n) => vec![n.parse()?],
                None => Asset::ALL.to_vec(),
            };
            for asset in chosen {
                let dir = assets::fetch(&home, asset, &mut |line| eprintln!("{line}"))?;
                println!("{asset}: ok ({})", dir.display());
            }
        }
        Action::List => {
            println!("cache: {}", home.display());
            for asset in Asset::ALL {
                let (spec, st) = (asset.spec(), assets::status(&home, asset)?);
                let state = if st.is_ok() {
                    "ok".to_string()
                } else {
                    let bad: Vec<String> = st
                        .files
                        .iter()
                        .filter(|(_, s)| !matches!(s, assets::FileState::Ok))
                        .map(|(f, s)| {
                            format!(
                                "{f} {}",
                                if matches!(s, assets::FileState::Missing) {
                                    "missing"
                                } else {
                                    "corrupt"
                                }
                            )
                        })
                        .collect();
                    format!("needs `canao assets fetch {}`: {}", spec.name, bad.join(", "))
                };
                println!(
                    "{:<16} {:>9.1} MB  {}  [{}; from {}]",
                    spec.name,
                    st.bytes as f64 / 1e6,
                    state,
                    spec.description,
                    spec.source
                );
            }
        }
    }
    Ok(())
}
