//! `canao privacy leak`: gradient leakage, SAPAG against DLG. Victims (LeNet-5, each activation
//! and initialisation asked for) are trained to each phase and cached in the run folder; at every
//! phase, for a seeded sample of private images, the client's gradient on one image (optionally
//! top-k sparsified) is attacked by each attack from the same dummy. Every reconstruction is
//! scored against the private image and against two trivial guesses (a grey image and the
//! dataset's mean image): an attack counts on an image only where it beats both. Rows are
//! appended to `rows.jsonl` as they finish, so a killed run resumes where it stopped.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use canao_privacy::Density;
use canao_privacy::leak::train::{VictimTraining, accuracy, epoch};
use canao_privacy::leak::{Act, Attack, Init, Inversion, Net, Target, invert, quality};
use canao_train::data::{ImageSet, Task};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::cmd::privacy::leak_report::{Row, write_report};
use crate::cmd::run_dir::{check_or_write_config, out_dir};
use crate::cmd::train::image_learner;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// fashion-mnist or digits.
    #[arg(long, default_value = "fashion-mnist")]
    task: String,
    /// Attacks, each run from the same dummies: dlg, sapag, sapag-annealed (SAPAG with each
    /// layer's sigma falling from the start's distance to the received variance over 4 stages).
    #[arg(long, value_delimiter = ',', default_value = "dlg,sapag")]
    attack: Vec<String>,
    /// Private images attacked (a seeded sample of the test part), per phase.
    #[arg(long, default_value_t = 20)]
    images: usize,
    /// Training phases: `untrained`, a number of epochs, or `converged` (--converged-epochs).
    #[arg(long, value_delimiter = ',', default_value = "untrained,1,5,converged")]
    phase: Vec<String>,
    #[arg(long, default_value_t = 15)]
    converged_epochs: usize,
    /// Victim activations: relu, sigmoid.
    #[arg(long, value_delimiter = ',', default_value = "relu,sigmoid")]
    act: Vec<String>,
    /// Victim initialisations: default (+-1/sqrt(fan_in)), uniform (+-0.5, DLG's).
    #[arg(long, value_delimiter = ',', default_value = "default,uniform")]
    init: Vec<String>,
    /// Training images of the victims (a seeded sample of the training part); an epoch is one
    /// pass over them.
    #[arg(long, default_value_t = 10_000)]
    train_images: usize,
    /// Top-k densities of the shared gradient (1 = dense), the defence of `canao privacy fl`.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    density: Vec<f64>,
    /// The attacker's optimiser: lbfgs (DLG's) or adam; every attack uses the same.
    #[arg(long, default_value = "lbfgs")]
    optimiser: String,
    /// Evaluations of the matching distance per attack, and the step size (Adam's, or the
    /// length of L-BFGS's first step).
    #[arg(long, default_value_t = 300)]
    iters: usize,
    #[arg(long, default_value_t = 0.1)]
    lr: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run folder (default results/privacy-leak-<task>-seed<S>).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A training phase: the victim after this many epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Phase {
    pub epochs: usize,
    pub converged: bool,
}

impl Phase {
    pub fn name(self) -> String {
        match (self.epochs, self.converged) {
            (0, _) => "untrained".into(),
            (n, true) => format!("converged ({n} epochs)"),
            (1, false) => "1 epoch".into(),
            (n, false) => format!("{n} epochs"),
        }
    }
}

fn parse_phase(s: &str, converged: usize) -> Result<Phase> {
    match s {
        "untrained" => Ok(Phase {
            epochs: 0,
            converged: false,
        }),
        "converged" => Ok(Phase {
            epochs: converged,
            converged: true,
        }),
        n => match n.parse() {
            Ok(epochs) => Ok(Phase {
                epochs,
                converged: false,
            }),
            Err(_) => bail!("--phase {s:?} is not untrained, converged or a number of epochs"),
        },
    }
}

/// The settings, parsed and checked before anything is loaded.
struct Plan {
    attacks: Vec<Attack>,
    phases: Vec<Phase>,
    victims: Vec<(Act, Init)>,
    densities: Vec<Density>,
    inversion: Inversion,
}

impl Args {
    fn plan(&self) -> Result<Plan> {
        let attacks = self
            .attack
            .iter()
            .map(|s| s.parse())
            .collect::<Result<Vec<Attack>, _>>()?;
        let mut phases = self
            .phase
            .iter()
            .map(|s| parse_phase(s, self.converged_epochs))
            .collect::<Result<Vec<_>>>()?;
        phases.sort();
        phases.dedup_by_key(|p| p.epochs);
        let acts = self.act.iter().map(|s| s.parse()).collect::<Result<Vec<Act>, _>>()?;
        let inits = self.init.iter().map(|s| s.parse()).collect::<Result<Vec<Init>, _>>()?;
        let victims = acts.iter().flat_map(|&a| inits.iter().map(move |&i| (a, i))).collect();
        let densities = self
            .density
            .iter()
            .map(|&d| Density::new(d))
            .collect::<Result<Vec<_>, _>>()?;
        let inversion = Inversion {
            optimiser: self.optimiser.parse()?,
            iters: self.iters,
            lr: self.lr,
            seed: self.seed,
        };
        inversion.validate()?;
        if self.images == 0 || attacks.is_empty() || phases.is_empty() || densities.is_empty() {
            bail!("--images, --attack, --phase and --density must each name at least one");
        }
        Ok(Plan {
            attacks,
            phases,
            victims,
            densities,
            inversion,
        })
    }
}

pub fn run(a: Args) -> Result<()> {
    let plan = a.plan()?;
    let task: Task = a.task.parse()?;
    let (learner, source) = image_learner(task, None, Device::flex())?;
    let data = &learner.data;
    if a.images > data.split.test.len() || a.train_images == 0 || a.train_images > data.split.train.len() {
        bail!(
            "--images must be in 1..={} and --train-images in 1..={}",
            data.split.test.len(),
            data.split.train.len()
        );
    }
    let dir = out_dir(
        a.out.as_deref(),
        &format!("privacy-leak-{}-seed{}", task.name(), a.seed),
    )?;
    let training = VictimTraining::default();
    let resolved = json!({
        "task": task.name(), "data": source, "attacks": plan.attacks, "phases": plan.phases,
        "victims": plan.victims, "images": a.images, "train_images": a.train_images,
        "densities": plan.densities, "inversion": plan.inversion, "victim_training": training,
        "seed": a.seed,
    });
    check_or_write_config(&dir, &resolved, &["images"])?;
    let pick = |items: &[usize], n: usize, salt: u64| {
        let mut v = items.to_vec();
        v.shuffle(&mut ChaCha8Rng::seed_from_u64(a.seed ^ salt));
        v.truncate(n);
        v
    };
    let private = pick(&data.split.test, a.images, 0x1eaf);
    let train_items = pick(&data.split.train, a.train_images, 0x7a1);
    let pixels = PixelRange::of(data);
    let done = done_keys(&dir.join("rows.jsonl"))?;
    let jobs = plan.victims.len() * plan.phases.len() * plan.densities.len() * plan.attacks.len();
    let bar = ProgressBar::new((jobs * private.len()) as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} attacks, {elapsed} (eta {eta}) {msg}")
            .expect("a valid template"),
    );
    for &(act, init) in &plan.victims {
        let mut net = Net::init(&learner.arch, act, init, a.seed)?;
        let mut velocity: Vec<Vec<f64>> = net.tensors.iter().map(|t| vec![0.0; t.len()]).collect();
        let mut trained = 0;
        for &phase in &plan.phases {
            let file = dir
                .join("victims")
                .join(format!("{act}-{init}-epoch-{}.json", phase.epochs));
            if let Some(cached) = read_victim(&file)? {
                (net.tensors, velocity) = (cached.tensors, cached.velocity);
            } else {
                for e in trained..phase.epochs {
                    bar.set_message(format!("training {act}-{init}, epoch {}/{}", e + 1, phase.epochs));
                    // A generator per epoch, so training resumes from a cached phase exactly.
                    let mut rng = ChaCha8Rng::seed_from_u64(a.seed.wrapping_add(e as u64));
                    epoch(&mut net, data, &train_items, &training, &mut velocity, &mut rng)?;
                }
                write_victim(&file, &net.tensors, &velocity)?;
            }
            trained = phase.epochs;
            let test_accuracy = accuracy(&net, data, &data.split.test);
            for &density in &plan.densities {
                for &attack in &plan.attacks {
                    let key = Key {
                        act,
                        init,
                        phase,
                        density: density.get(),
                        attack,
                    };
                    let todo: Vec<usize> = private
                        .iter()
                        .copied()
                        .filter(|&i| !done.contains(&key.with(i)))
                        .collect();
                    bar.inc((private.len() - todo.len()) as u64);
                    bar.set_message(format!(
                        "{act}-{init}, {}, density {}, {attack}",
                        phase.name(),
                        density.get()
                    ));
                    let rows: Vec<Row> = todo
                        .par_iter()
                        .map(|&i| {
                            let row = attack_one(&net, data, i, &key, &plan.inversion, &pixels, test_accuracy);
                            bar.inc(1);
                            row
                        })
                        .collect();
                    append_rows(&dir.join("rows.jsonl"), &rows)?;
                }
            }
        }
    }
    bar.finish_and_clear();
    let originals: Vec<(usize, Vec<u8>)> = private
        .iter()
        .map(|&i| {
            (
                i,
                data.image(i)
                    .iter()
                    .map(|&p| (pixels.unit(f64::from(p)) * 255.0).round() as u8)
                    .collect(),
            )
        })
        .collect();
    write_report(&dir, &resolved, &originals)
}

/// What one row is about, the image aside.
struct Key {
    act: Act,
    init: Init,
    phase: Phase,
    density: f64,
    attack: Attack,
}

impl Key {
    fn with(&self, image: usize) -> String {
        format!(
            "{}-{}-{}-{}-{}-{image}",
            self.act, self.init, self.phase.epochs, self.density, self.attack
        )
    }
}

/// Maps standardised pixels back to [0, 1]: the set's darkest pixel is 0, its brightest 1.
pub struct PixelRange {
    lo: f64,
    hi: f64,
    pub mean_image: Vec<f64>,
}

impl PixelRange {
    fn of(data: &ImageSet) -> Self {
        let (lo, hi) = data
            .pixels
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &p| {
                (lo.min(f64::from(p)), hi.max(f64::from(p)))
            });
        let n = data.shape.iter().product::<usize>();
        let mut mean_image = vec![0.0; n];
        for &i in &data.split.train {
            mean_image
                .iter_mut()
                .zip(data.image(i))
                .for_each(|(m, &p)| *m += f64::from(p));
        }
        let count = data.split.train.len().max(1) as f64;
        let mean_image = mean_image.iter().map(|m| to_unit(m / count, lo, hi)).collect();
        Self { lo, hi, mean_image }
    }

    /// A standardised pixel on [0, 1], clamped.
    pub fn unit(&self, p: f64) -> f64 {
        to_unit(p, self.lo, self.hi)
    }
}

fn to_unit(p: f64, lo: f64, hi: f64) -> f64 {
    ((p - lo) / (hi - lo).max(1e-12)).clamp(0.0, 1.0)
}

fn attack_one(
    net: &Net<f64>,
    data: &ImageSet,
    item: usize,
    key: &Key,
    how: &Inversion,
    pixels: &PixelRange,
    test_accuracy: f64,
) -> Row {
    let (image, label) = canao_privacy::leak::train::example(data, item, net.dims.classes);
    let received = net.gradients(&image, &label).params;
    let density = Density::new(key.density).expect("checked when parsed");
    let mask = received
        .iter()
        .map(|g| density.mask(&g.iter().map(|&v| v as f32).collect::<Vec<_>>()))
        .collect();
    let how = Inversion {
        seed: how.seed ^ item as u64,
        ..how.clone()
    };
    let r = invert(net, &Target::new(key.attack, received, mask), &how);
    let truth: Vec<f64> = image.iter().map(|&p| pixels.unit(p)).collect();
    let found: Vec<f64> = r.image.iter().map(|&p| pixels.unit(p)).collect();
    let shape = data.shape;
    let q = quality(&truth, &found, shape);
    let grey = quality(&truth, &vec![0.5; truth.len()], shape);
    let mean = quality(&truth, &pixels.mean_image, shape);
    let true_class = data.labels[item];
    Row {
        act: key.act,
        init: key.init,
        epochs: key.phase.epochs,
        phase: key.phase.name(),
        density: key.density,
        attack: key.attack,
        image: item,
        class: true_class,
        label_recovered: (0..r.label.len()).all(|k| r.label[k] <= r.label[true_class]),
        quality: q,
        grey,
        mean,
        beats_baselines: q.mse < grey.mse.min(mean.mse),
        distance: r.distance,
        test_accuracy,
        pixels: found.iter().map(|&p| (p * 255.0).round() as u8).collect(),
    }
}

/// A victim at one phase: its weights and momentum buffer, so training resumes from it.
#[derive(Serialize, Deserialize)]
struct Cached {
    tensors: Vec<Vec<f64>>,
    velocity: Vec<Vec<f64>>,
}

fn read_victim(file: &Path) -> Result<Option<Cached>> {
    if !file.is_file() {
        return Ok(None);
    }
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let c = serde_json::from_slice(&text).with_context(|| format!("{} is not a cached victim", file.display()))?;
    Ok(Some(c))
}

fn write_victim(file: &Path, tensors: &[Vec<f64>], velocity: &[Vec<f64>]) -> Result<()> {
    std::fs::create_dir_all(file.parent().expect("a victim file has a folder"))?;
    let c = Cached {
        tensors: tensors.to_vec(),
        velocity: velocity.to_vec(),
    };
    crate::cmd::train_report::write_atomic(file, &serde_json::to_vec(&c)?)
}

fn done_keys(file: &Path) -> Result<BTreeSet<String>> {
    if !file.is_file() {
        return Ok(BTreeSet::new());
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    // A run killed mid-write leaves at most a torn last line: it is dropped and redone.
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<Row>(l).ok())
        .map(|r| r.key())
        .collect())
}

fn append_rows(file: &Path, rows: &[Row]) -> Result<()> {
    // After a torn last line (a killed run), start on a fresh line.
    let torn = std::fs::read(file).is_ok_and(|b| b.last().is_some_and(|&c| c != b'\n'));
    let mut out = if torn { vec![b'\n'] } else { Vec::new() };
    for r in rows {
        serde_json::to_writer(&mut out, r)?;
        out.push(b'\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .with_context(|| format!("opening {}", file.display()))?;
    f.write_all(&out)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(())
}
