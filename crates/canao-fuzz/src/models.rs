//! RON files a user writes: search spaces, device profiles, architecture and student files.

use canao_ir::builders::{Arch, BertArch, from_ron};
use canao_latency::{DeviceProfile, LatencyModel, energy_per_run, runs_per_battery};
use canao_models::StudentArch;
use canao_search::SearchSpace;
use rand::SeedableRng;

use crate::utf8;

/// A search space, then what a search does with it: sample, check, encode and decode students.
pub fn space(data: &[u8]) {
    let Some(text) = utf8(data) else { return };
    let Ok(space) = SearchSpace::from_ron(text, "fuzz.ron") else {
        return;
    };
    let cards = space.cardinalities();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for _ in 0..4 {
        let s = space.sample(&mut rng);
        space.contains(&s).expect("a sampled student is in its space");
    }
    let zero = vec![0; cards.len()];
    let last: Vec<usize> = cards.iter().map(|c| c.saturating_sub(1)).collect();
    for point in [zero, last] {
        if let Ok(s) = space.decode(&point) {
            space.contains(&s).expect("a decoded student is in its space");
        }
    }
}

/// A device profile, then every figure canao derives from it.
pub fn profile(data: &[u8]) {
    let Some(text) = utf8(data) else { return };
    let Ok(p) = DeviceProfile::from_ron(text, "fuzz.ron") else {
        return;
    };
    let mut per_level = Vec::new();
    for level in 0..p.dvfs.len() {
        if let Ok(model) = LatencyModel::new(&p, level) {
            let _ = model.threads();
        }
        let joules = energy_per_run(&p, level, 10.0).expect("validated levels");
        assert!(
            joules.is_finite() && joules > 0.0,
            "energy per run {joules} from a validated profile"
        );
        per_level.push(10.0);
    }
    if let Ok(levels) = runs_per_battery(&p, &per_level) {
        for l in levels {
            assert!(l.joules_per_run.is_finite() && l.joules_per_run > 0.0, "{l:?}");
        }
    }
}

/// An architecture file as `canao inspect --arch` and `canao predict --arch` read it: a student
/// of MiniLM, else any `Arch`; then its graph and cost.
pub fn arch(data: &[u8]) {
    let Some(text) = utf8(data) else { return };
    let arch = match from_ron::<StudentArch>(text, "fuzz.ron") {
        Ok(s) => match s.bert(&BertArch::minilm(128), 128) {
            Ok(b) => Arch::Bert(b),
            Err(_) => return,
        },
        Err(_) => match from_ron::<Arch>(text, "fuzz.ron") {
            Ok(a) => a,
            Err(_) => return,
        },
    };
    if let Ok(g) = arch.build() {
        let _ = g.cost();
    }
}
