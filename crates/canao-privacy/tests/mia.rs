//! Offline LiRA on a planted set: reference confidences drawn per example, the target's equal
//! to them for non-members and far above them for members it memorised. LiRA must find the
//! members at a low false-positive rate; a global confidence threshold, which cannot tell a
//! hard example from an easy one, must not.

use canao_privacy::mia::{Roc, lira_offline};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn lira_finds_a_planted_memorised_member_set() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (n, refs) = (2000, 16);
    // Per example difficulty: its typical confidence, spread widely across examples.
    let typical: Vec<f64> = (0..n).map(|_| rng.random_range(-6.0..6.0)).collect();
    let member: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
    let trained_on: Vec<Vec<bool>> = (0..refs)
        .map(|_| (0..n).map(|_| rng.random_bool(0.5)).collect())
        .collect();
    let reference: Vec<Vec<f64>> = trained_on
        .iter()
        .map(|t| {
            (0..n)
                .map(|i| typical[i] + rng.random_range(-0.5..0.5) + if t[i] { 3.0 } else { 0.0 })
                .collect()
        })
        .collect();
    let target: Vec<f64> = (0..n)
        .map(|i| typical[i] + rng.random_range(-0.5..0.5) + if member[i] { 3.0 } else { 0.0 })
        .collect();
    let lira = Roc::new(&lira_offline(&target, &reference, &trained_on), &member);
    let global = Roc::new(&target, &member);
    assert!(lira.auc > 0.99, "LiRA AUC {}", lira.auc);
    assert!(lira.tpr_at(0.01) > 0.9, "LiRA TPR at 1 % FPR {}", lira.tpr_at(0.01));
    // A global threshold finds only the members whose boost lifts them past every non-member
    // (those among the easiest examples, about a fifth here).
    assert!(global.tpr_at(0.01) < 0.3, "a global threshold: {}", global.tpr_at(0.01));
}
