//! How a training set is dealt out to federated clients: IID, label skew drawn from a
//! Dirichlet distribution, or a fixed number of labels per client (NIID-Bench's three settings).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};
use serde::{Deserialize, Serialize};

use crate::error::{Result, config};

/// Fewest items a client may hold under the Dirichlet partition; draws are repeated until every
/// client has this many (as NIID-Bench does), so no client trains on nothing.
pub const MIN_ITEMS: usize = 10;
/// Dirichlet draws tried before giving up (an alpha so small, or clients so many, that some
/// client always ends up nearly empty).
const MAX_DRAWS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Partition {
    /// A seeded shuffle cut into equal parts.
    Iid,
    /// Per class, the share each client gets is drawn from Dirichlet(alpha, ..., alpha): small
    /// alpha, strong label skew.
    Dirichlet { alpha: f64 },
    /// Each client holds `labels` distinct classes (client i always class i mod C, the rest
    /// drawn); each class is split evenly among the clients holding it. A class no client drew
    /// is left out, as in NIID-Bench.
    Labels { labels: usize },
}

impl Partition {
    /// Checks the settings that do not depend on the data: alpha positive and finite, at least
    /// one label per client.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Partition::Dirichlet { alpha } if !(alpha.is_finite() && alpha > 0.0) => {
                Err(config("alpha", format!("is {alpha}, must be positive and finite")))
            }
            Partition::Labels { labels: 0 } => Err(config("labels", "must be at least 1")),
            _ => Ok(()),
        }
    }

    /// Deals `items` (indices into a data set whose labels are `labels`, each below `classes`)
    /// to `clients` clients; every item goes to at most one client, each client's list sorted.
    pub fn deal(
        &self,
        items: &[usize],
        labels: &[usize],
        classes: usize,
        clients: usize,
        seed: u64,
    ) -> Result<Vec<Vec<usize>>> {
        self.validate()?;
        if clients == 0 {
            return Err(config("clients", "must be at least 1"));
        }
        if items.len() < clients {
            return Err(config(
                "clients",
                format!("{clients} clients cannot share {} training items", items.len()),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xFED_A11);
        let mut parts = match *self {
            Partition::Iid => iid(items, clients, &mut rng),
            Partition::Dirichlet { alpha } => dirichlet(items, labels, classes, clients, alpha, &mut rng)?,
            Partition::Labels { labels: k } => by_labels(items, labels, classes, clients, k, &mut rng)?,
        };
        for p in &mut parts {
            p.sort_unstable();
        }
        Ok(parts)
    }
}

fn iid(items: &[usize], clients: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order = items.to_vec();
    order.shuffle(rng);
    let (base, extra) = (order.len() / clients, order.len() % clients);
    let mut rest = order.as_slice();
    (0..clients)
        .map(|c| {
            let (mine, tail) = rest.split_at(base + usize::from(c < extra));
            rest = tail;
            mine.to_vec()
        })
        .collect()
}

/// `items` grouped by class, each group shuffled.
fn by_class(items: &[usize], labels: &[usize], classes: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); classes];
    for &i in items {
        groups[labels[i]].push(i);
    }
    for g in &mut groups {
        g.shuffle(rng);
    }
    groups
}

fn dirichlet(
    items: &[usize],
    labels: &[usize],
    classes: usize,
    clients: usize,
    alpha: f64,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Vec<usize>>> {
    let gamma = Gamma::new(alpha, 1.0).map_err(|e| config("alpha", format!("{alpha}: {e}")))?;
    let groups = by_class(items, labels, classes, rng);
    for _ in 0..MAX_DRAWS {
        let mut parts = vec![Vec::new(); clients];
        for group in &groups {
            // A Dirichlet draw is independent Gamma(alpha, 1) draws, normalised.
            let draws: Vec<f64> = (0..clients).map(|_| gamma.sample(rng)).collect();
            let total: f64 = draws.iter().sum();
            let mut start = 0;
            let mut cumulative = 0.0;
            for (c, d) in draws.iter().enumerate() {
                cumulative += d / total;
                let end = if c + 1 == clients {
                    group.len()
                } else {
                    ((cumulative * group.len() as f64).round() as usize).clamp(start, group.len())
                };
                parts[c].extend_from_slice(&group[start..end]);
                start = end;
            }
        }
        if parts.iter().all(|p| p.len() >= MIN_ITEMS.min(items.len() / clients)) {
            return Ok(parts);
        }
    }
    Err(config(
        "alpha",
        format!("{alpha}: {MAX_DRAWS} Dirichlet draws all left some client with under {MIN_ITEMS} items"),
    ))
}

fn by_labels(
    items: &[usize],
    labels: &[usize],
    classes: usize,
    clients: usize,
    k: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Vec<usize>>> {
    if k > classes {
        return Err(config("labels", format!("is {k}, must be in 1..={classes}")));
    }
    let held: Vec<Vec<usize>> = (0..clients)
        .map(|c| {
            let mut mine = vec![c % classes];
            while mine.len() < k {
                let l = rng.random_range(0..classes);
                if !mine.contains(&l) {
                    mine.push(l);
                }
            }
            mine
        })
        .collect();
    let groups = by_class(items, labels, classes, rng);
    let mut parts = vec![Vec::new(); clients];
    for (class, group) in groups.iter().enumerate() {
        let holders: Vec<usize> = (0..clients).filter(|&c| held[c].contains(&class)).collect();
        for (j, chunk) in iid(group, holders.len().max(1), rng).into_iter().enumerate() {
            if let Some(&c) = holders.get(j) {
                parts[c].extend(chunk);
            }
        }
    }
    Ok(parts)
}
