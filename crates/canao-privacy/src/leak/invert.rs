//! Gradient inversion: from the gradient a client shared for one image, find an image and a soft
//! label whose gradient matches it (DLG's recipe: optimise both, here with Adam), under either
//! attack's distance. The gradient of the distance with respect to the dummy image is exact: one
//! `f64` pass gives the dummy gradient and the distance's tangent, one dual-number pass along that
//! tangent gives its derivative with respect to the image and label.

use num_dual::Dual64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Result, config};
use crate::leak::distance::Target;
use crate::leak::victim::Net;

/// The attacker's optimiser over the dummy image and label logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimiser {
    /// DLG's: limited-memory BFGS, here with a backtracking (Armijo) line search.
    Lbfgs,
    Adam,
}

impl std::str::FromStr for Optimiser {
    type Err = crate::error::PrivacyError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "lbfgs" => Ok(Optimiser::Lbfgs),
            "adam" => Ok(Optimiser::Adam),
            _ => Err(config("optimiser", format!("{s:?} is not lbfgs or adam"))),
        }
    }
}

/// How the attacker optimises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inversion {
    pub optimiser: Optimiser,
    /// Evaluations of the distance and its gradient (each a pass over the victim and one over
    /// its dual-number twin).
    pub iters: usize,
    /// Adam's step size, or L-BFGS's first trial step (inputs are standardised: a pixel spans
    /// about 3 units).
    pub lr: f64,
    pub seed: u64,
}

impl Inversion {
    pub fn validate(&self) -> Result<()> {
        if self.iters == 0 {
            return Err(config("iters", "must be at least 1"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(config("lr", format!("is {}, must be positive", self.lr)));
        }
        Ok(())
    }
}

/// The best dummy found (lowest distance), its label distribution, and the distance per step.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    pub image: Vec<f64>,
    pub label: Vec<f64>,
    pub distance: f64,
    pub trace: Vec<f64>,
}

pub fn softmax(logits: &[f64]) -> Vec<f64> {
    let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|z| (z - top).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// The distance at (image, label logits) and its gradient with respect to both.
pub fn distance_and_grad(net: &Net<f64>, target: &Target, image: &[f64], logits: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
    let label = softmax(logits);
    let dummy = net.gradients(image, &label);
    let (value, tangent) = target.distance(&dummy.params);
    let lifted = |v: &[f64]| v.iter().map(|&x| Dual64::from_re(x)).collect::<Vec<_>>();
    let second = net.with_tangent(&tangent).gradients(&lifted(image), &lifted(&label));
    let dimage = second.input.iter().map(|v| v.eps).collect();
    let dlabel: Vec<f64> = second.label.iter().map(|v| v.eps).collect();
    let mean: f64 = label.iter().zip(&dlabel).map(|(y, d)| y * d).sum();
    let dlogits = label.iter().zip(&dlabel).map(|(y, d)| y * (d - mean)).collect();
    (value, dimage, dlogits)
}

/// Adam's moments for one vector of unknowns.
struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;

    fn new(n: usize) -> Self {
        Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    fn step(&mut self, x: &mut [f64], g: &[f64], lr: f64, t: i32) {
        let (c1, c2) = (1.0 - Self::B1.powi(t), 1.0 - Self::B2.powi(t));
        for (((x, &g), m), v) in x.iter_mut().zip(g).zip(&mut self.m).zip(&mut self.v) {
            *m = Self::B1 * *m + (1.0 - Self::B1) * g;
            *v = Self::B2 * *v + (1.0 - Self::B2) * g * g;
            *x -= lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
        }
    }
}

/// Runs the attack from a seeded standard-normal dummy image and label logits. An annealed
/// attack splits the evaluations over its stages, each starting the optimiser afresh from the
/// last stage's best point; its trace then holds each stage's own distance, and its result is the
/// last stage's (plain SAPAG).
pub fn invert(net: &Net<f64>, target: &Target, how: &Inversion) -> Reconstruction {
    let mut rng = ChaCha8Rng::seed_from_u64(how.seed);
    let (pixels, classes) = (net.dims.pixels(), net.dims.classes);
    let mut z: Vec<f64> = (0..pixels + classes).map(|_| StandardNormal.sample(&mut rng)).collect();
    let stages = target.attack().stages().min(how.iters);
    // Only an annealed attack needs the dummy gradient at the start (its sigma schedule).
    let start = (stages > 1).then(|| net.gradients(&z[..pixels], &softmax(&z[pixels..])).params);
    let (mut distance, mut trace) = (f64::INFINITY, Vec::with_capacity(how.iters));
    for stage in 0..stages {
        let stage_target = match &start {
            Some(start) => target.annealed(start, stage, stages),
            None => target.clone(),
        };
        // The unknowns are the image followed by the label logits.
        let mut eval = |z: &[f64]| {
            let (d, gx, gy) = distance_and_grad(net, &stage_target, &z[..pixels], &z[pixels..]);
            (d, [gx, gy].concat())
        };
        let share = Inversion {
            iters: how.iters / stages + usize::from(stage < how.iters % stages),
            ..how.clone()
        };
        let (best, d, t) = match how.optimiser {
            Optimiser::Adam => adam(z, &share, &mut eval),
            Optimiser::Lbfgs => lbfgs(z, &share, &mut eval),
        };
        (z, distance) = (best, d);
        trace.extend(t);
    }
    let best = z;
    Reconstruction {
        image: best[..pixels].to_vec(),
        label: softmax(&best[pixels..]),
        distance,
        trace,
    }
}

/// The best point seen, its value, and the value at every evaluation.
type Search = (Vec<f64>, f64, Vec<f64>);

/// Keeps the best point of a search and the trace of values.
struct Tracker {
    best: (f64, Vec<f64>),
    trace: Vec<f64>,
}

impl Tracker {
    fn new(n: usize) -> Self {
        Self {
            best: (f64::INFINITY, Vec::new()),
            trace: Vec::with_capacity(n),
        }
    }

    fn see(&mut self, z: &[f64], d: f64) {
        self.trace.push(d);
        if d < self.best.0 {
            self.best = (d, z.to_vec());
        }
    }

    fn done(self, fallback: Vec<f64>) -> Search {
        let (d, z) = self.best;
        (if z.is_empty() { fallback } else { z }, d, self.trace)
    }
}

fn adam(mut z: Vec<f64>, how: &Inversion, eval: &mut impl FnMut(&[f64]) -> (f64, Vec<f64>)) -> Search {
    let mut opt = Adam::new(z.len());
    let mut seen = Tracker::new(how.iters);
    for t in 1..=how.iters {
        let (d, g) = eval(&z);
        seen.see(&z, d);
        if !d.is_finite() {
            break;
        }
        // The last third at a tenth of the step, to settle into the minimum it found.
        let lr = if 3 * t > 2 * how.iters { how.lr / 10.0 } else { how.lr };
        opt.step(&mut z, &g, lr, t as i32);
    }
    seen.done(z)
}

/// Curvature pairs L-BFGS keeps.
const MEMORY: usize = 20;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The L-BFGS direction -H g from the kept pairs (s, y), oldest first (two-loop recursion).
fn direction(g: &[f64], pairs: &[(Vec<f64>, Vec<f64>)]) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = Vec::with_capacity(pairs.len());
    for (s, y) in pairs.iter().rev() {
        let a = dot(s, &q) / dot(y, s);
        q.iter_mut().zip(y).for_each(|(q, y)| *q -= a * y);
        alphas.push(a);
    }
    if let Some((s, y)) = pairs.last() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|q| *q *= gamma);
    }
    for ((s, y), a) in pairs.iter().zip(alphas.iter().rev()) {
        let b = dot(y, &q) / dot(y, s);
        q.iter_mut().zip(s).for_each(|(q, s)| *q += (a - b) * s);
    }
    q.iter_mut().for_each(|q| *q = -*q);
    q
}

fn lbfgs(mut z: Vec<f64>, how: &Inversion, eval: &mut impl FnMut(&[f64]) -> (f64, Vec<f64>)) -> Search {
    let mut seen = Tracker::new(how.iters);
    let (mut d, mut g) = eval(&z);
    seen.see(&z, d);
    let mut pairs: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    while seen.trace.len() < how.iters && d.is_finite() {
        let mut p = direction(&g, &pairs);
        let mut slope = dot(&g, &p);
        if slope >= 0.0 {
            // Not a descent direction: forget the curvature and go down the gradient.
            pairs.clear();
            p = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
        // The first step has no curvature to scale it: a step of `lr` along the gradient.
        let mut t = if pairs.is_empty() {
            how.lr / dot(&p, &p).sqrt().max(1e-300)
        } else {
            1.0
        };
        let accepted = loop {
            let trial: Vec<f64> = z.iter().zip(&p).map(|(z, p)| z + t * p).collect();
            let (dt, gt) = eval(&trial);
            seen.see(&trial, dt);
            if dt <= d + 1e-4 * t * slope {
                break Some((trial, dt, gt));
            }
            t *= 0.5;
            if seen.trace.len() >= how.iters || t < 1e-12 {
                break None;
            }
        };
        let Some((next, dn, gn)) = accepted else {
            if pairs.is_empty() {
                break;
            }
            // The curvature led nowhere: start again from the gradient.
            pairs.clear();
            continue;
        };
        let s: Vec<f64> = next.iter().zip(&z).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        if dot(&s, &y) > 1e-12 {
            if pairs.len() == MEMORY {
                pairs.remove(0);
            }
            pairs.push((s, y));
        }
        (z, d, g) = (next, dn, gn);
    }
    seen.done(z)
}
