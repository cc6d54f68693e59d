//! `canao gnn eval`: every attack at every budget against normal and robust models over seeds.
//! Settings: evasion with the attack made on the model evaluated (adaptive, as Mujkanovic et al.
//! 2022 insist), poisoning (a normal model retrained on the normal model's perturbation), and
//! transfer (a robust model under the normal model's perturbation). Each finished cell is
//! appended to `cells.jsonl` and each perturbation kept under `flips/`, so a killed run resumes
//! where it stopped.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use canao_gnn::attack::{AttackMethod, budget_flips};
use canao_gnn::experiment::{Trained, Training, attack_test_nodes, evasion_accuracy, poisoning_accuracy, train};
use canao_gnn::{Dataset, TrainConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{DataArgs, RunArgs, check_or_write_config, out_dir, parse_budget, parse_method};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Seeds 0..N (each trains its own models and runs its own attacks).
    #[arg(long, default_value_t = 5)]
    seeds: u64,
    /// Attack budgets, shares of the edges.
    #[arg(long, value_delimiter = ',', value_parser = parse_budget, default_value = "0.01,0.05,0.1,0.15,0.2", allow_negative_numbers = true)]
    budgets: Vec<f64>,
    #[arg(long, value_delimiter = ',', value_parser = parse_method, default_value = "pgd,greedy,zeroth-order")]
    attacks: Vec<AttackMethod>,
    /// Models: normal and robust-<attack> (trained min-max at --robust-budget).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "normal,robust-pgd,robust-greedy,robust-zeroth-order"
    )]
    trainings: Vec<Training>,
    #[arg(long, value_parser = parse_budget, default_value = "0.1", allow_negative_numbers = true)]
    robust_budget: f64,
    #[command(flatten)]
    run: RunArgs,
    /// Run folder (default results/gnn-eval-<dataset>); finished cells in it are kept.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    Evasion,
    Poisoning,
    Transfer,
}

/// One measured cell of the table, a line of `cells.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    pub seed: u64,
    pub training: Training,
    pub attack: AttackMethod,
    pub budget: f64,
    pub setting: Setting,
    pub flips: usize,
    pub clean_accuracy: f64,
    pub accuracy: f64,
    pub attack_s: f64,
}

/// A trained model's line of `models.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelLine {
    pub seed: u64,
    pub training: Training,
    pub clean_accuracy: f64,
    pub train_s: f64,
    pub inner_max_s: f64,
}

/// What the grid shares between cells.
struct Grid<'a> {
    dir: &'a Path,
    data: &'a Dataset,
    args: &'a Args,
    train_config: TrainConfig,
    attack_config: canao_gnn::attack::AttackConfig,
    cells: Vec<Cell>,
    models: Vec<ModelLine>,
    bar: ProgressBar,
}

pub fn run(a: Args) -> Result<()> {
    let data = a.data.load()?;
    if a.budgets.is_empty() || a.attacks.is_empty() || a.trainings.is_empty() {
        bail!("--budgets, --attacks and --trainings each need at least one entry");
    }
    let dir = out_dir(a.out.as_deref(), &format!("gnn-eval-{}", data.name))?;
    let (train_config, attack_config) = a.run.configs()?;
    let resolved = json!({
        "dataset": a.data.dataset, "flips": a.data.flips, "seeds": a.seeds, "budgets": a.budgets,
        "attacks": a.attacks, "trainings": a.trainings, "robust_budget": a.robust_budget,
        "train": train_config, "attack": attack_config,
    });
    check_or_write_config(&dir, &resolved)?;
    std::fs::create_dir_all(dir.join("flips"))?;
    let cells = complete_groups(&dir.join("cells.jsonl"))?;
    let per_seed = (a.trainings.len() * a.attacks.len() * a.budgets.len()) as u64;
    let bar = ProgressBar::new(a.seeds * per_seed).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} cells, {elapsed} (eta {eta}) {msg}")
            .expect("a valid template"),
    );
    let mut grid = Grid {
        dir: &dir,
        data: &data,
        args: &a,
        train_config,
        attack_config,
        cells,
        models: read_jsonl(&dir.join("models.jsonl"))?,
        bar,
    };
    for seed in 0..a.seeds {
        for &training in &a.trainings {
            grid.model_cells(seed, training)?;
        }
    }
    grid.bar.finish_and_clear();
    // A rerun with fewer seeds than the folder holds reports those seeds only.
    let cells: Vec<Cell> = grid.cells.into_iter().filter(|c| c.seed < a.seeds).collect();
    let models: Vec<ModelLine> = grid.models.into_iter().filter(|m| m.seed < a.seeds).collect();
    super::eval_report::write(&dir, &data, &a.budgets, &cells, &models, &resolved)
}

impl Grid<'_> {
    fn done(&self, seed: u64, training: Training, attack: AttackMethod, budget: f64) -> bool {
        self.cells.iter().any(|c| {
            c.seed == seed
                && c.training == training
                && c.attack == attack
                && c.budget == budget
                && c.setting == Setting::Evasion
        })
    }

    /// Every (attack, budget) cell of one model; trains the model only if a cell is missing.
    fn model_cells(&mut self, seed: u64, training: Training) -> Result<()> {
        let a = self.args;
        let missing = a
            .attacks
            .iter()
            .flat_map(|&m| a.budgets.iter().map(move |&b| (m, b)))
            .filter(|&(m, b)| !self.done(seed, training, m, b))
            .count();
        let total = (a.attacks.len() * a.budgets.len()) as u64;
        if missing == 0 {
            self.bar.inc(total);
            return Ok(());
        }
        self.bar
            .set_message(format!("seed {seed}: training {}", training.name()));
        let flips = budget_flips(a.robust_budget, self.data.graph.edge_count())?;
        let model = train(
            training,
            self.data,
            &self.train_config,
            &self.attack_config,
            flips,
            seed,
        )?;
        let clean = evasion_accuracy(&model.model, self.data, &[])?;
        // A model retrained after a kill is the same model (same seed): logged once.
        if !self.models.iter().any(|m| m.seed == seed && m.training == training) {
            let line = ModelLine {
                seed,
                training,
                clean_accuracy: clean,
                train_s: model.cost.wall_s,
                inner_max_s: model.cost.inner_s,
            };
            append(&self.dir.join("models.jsonl"), &line)?;
            self.models.push(line);
        }
        for &attack in &a.attacks {
            for &budget in &a.budgets {
                if !self.done(seed, training, attack, budget) {
                    self.bar.set_message(format!(
                        "seed {seed}: {} under {} at {budget}",
                        training.name(),
                        attack.name()
                    ));
                    self.attack_cells(seed, training, &model, clean, attack, budget)?;
                }
                self.bar.inc(1);
            }
        }
        Ok(())
    }

    /// The evasion cell of (model, attack, budget) and its poisoning (normal) or transfer
    /// (robust) companion.
    fn attack_cells(
        &mut self,
        seed: u64,
        training: Training,
        model: &Trained,
        clean: f64,
        attack: AttackMethod,
        budget: f64,
    ) -> Result<()> {
        let flips = budget_flips(budget, self.data.graph.edge_count())?;
        let (pairs, attack_s) = attack_test_nodes(&model.model, self.data, attack, &self.attack_config, flips, seed);
        let file = self.flips_file(seed, training, attack, budget);
        canao_gnn::flips::write(&file, &pairs)?;
        let cell = |setting, accuracy| Cell {
            seed,
            training,
            attack,
            budget,
            setting,
            flips: pairs.len(),
            clean_accuracy: clean,
            accuracy,
            attack_s,
        };
        let mut out = Vec::new();
        if training == Training::Normal {
            out.push(cell(
                Setting::Poisoning,
                poisoning_accuracy(self.data, &self.train_config, &pairs, seed)?,
            ));
        } else {
            let normal = self.flips_file(seed, Training::Normal, attack, budget);
            if normal.is_file() {
                let transferred = canao_gnn::flips::read(&normal, &self.data.graph)?;
                out.push(cell(
                    Setting::Transfer,
                    evasion_accuracy(&model.model, self.data, &transferred)?,
                ));
            }
        }
        // The evasion cell last: it marks the (model, attack, budget) as done. The group goes
        // out in one write.
        out.push(cell(
            Setting::Evasion,
            evasion_accuracy(&model.model, self.data, &pairs)?,
        ));
        append_all(&self.dir.join("cells.jsonl"), &out)?;
        self.cells.extend(out);
        Ok(())
    }

    fn flips_file(&self, seed: u64, training: Training, attack: AttackMethod, budget: f64) -> PathBuf {
        self.dir
            .join("flips")
            .join(format!("seed{seed}-{}-{}-{budget}.csv", training.name(), attack.name()))
    }
}

/// Appends one JSON line.
pub(super) fn append<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    append_all(path, std::slice::from_ref(value))
}

/// Appends JSON lines in a single write, so a kill leaves at most a torn last line.
fn append_all<T: Serialize>(path: &Path, values: &[T]) -> Result<()> {
    let mut text = String::new();
    for v in values {
        text.push_str(&serde_json::to_string(v)?);
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The cells logged so far, less poisoning / transfer cells whose evasion cell is missing (a
/// run killed between the two), which are dropped from the log too: the group is redone whole.
fn complete_groups(path: &Path) -> Result<Vec<Cell>> {
    let cells: Vec<Cell> = read_jsonl(path)?;
    let key = |c: &Cell| (c.seed, c.training, c.attack, c.budget.to_bits());
    let done: Vec<_> = cells
        .iter()
        .filter(|c| c.setting == Setting::Evasion)
        .map(key)
        .collect();
    let kept: Vec<Cell> = cells.iter().filter(|c| done.contains(&key(c))).cloned().collect();
    if kept.len() < cells.len() {
        let text: String = kept
            .iter()
            .map(|c| serde_json::to_string(c).map(|l| l + "\n"))
            .collect::<serde_json::Result<_>>()?;
        crate::cmd::train_report::write_atomic(path, text.as_bytes())?;
    }
    Ok(kept)
}

/// The lines of a JSONL log (none if the file is missing). A torn last line, which a killed run
/// leaves, is dropped; a bad line before it is an error naming it.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str(line) {
            Ok(v) => out.push(v),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {
                eprintln!("{}: dropping a torn last line", path.display());
                let kept = &text[..text.rfind('\n').map_or(0, |k| k + 1)];
                crate::cmd::train_report::write_atomic(path, kept.as_bytes())?;
            }
            Err(e) => bail!("{} line {}: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}
