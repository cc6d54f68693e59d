//! How well a membership score separates members from non-members: the ROC curve, its area,
//! and the true-positive rate at a low false-positive rate (the figure that matters for an
//! attack: Carlini et al. argue averages such as AUC hide whether any member is found with
//! confidence).

/// Scores with their truth; a higher score means "member".
#[derive(Debug, Clone)]
pub struct Roc {
    /// (false-positive rate, true-positive rate) at every distinct threshold, from (0, 0) up
    /// to (1, 1).
    pub points: Vec<(f64, f64)>,
    pub auc: f64,
}

impl Roc {
    /// The curve of `scores` against `member`. Non-finite scores count as the lowest.
    pub fn new(scores: &[f64], member: &[bool]) -> Self {
        assert_eq!(scores.len(), member.len(), "one truth per score");
        let clean = |s: f64| if s.is_nan() { f64::NEG_INFINITY } else { s };
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| clean(scores[b]).total_cmp(&clean(scores[a])));
        let positives = member.iter().filter(|m| **m).count().max(1) as f64;
        let negatives = member.iter().filter(|m| !**m).count().max(1) as f64;
        let (mut tp, mut fp) = (0.0, 0.0);
        let mut points = vec![(0.0, 0.0)];
        let mut auc = 0.0;
        let mut i = 0;
        while i < order.len() {
            // Ties move the curve diagonally, as one threshold.
            let s = clean(scores[order[i]]);
            let (tp0, fp0) = (tp, fp);
            while i < order.len() && clean(scores[order[i]]) == s {
                if member[order[i]] {
                    tp += 1.0
                } else {
                    fp += 1.0
                }
                i += 1;
            }
            auc += (fp - fp0) / negatives * (tp + tp0) / 2.0 / positives;
            points.push((fp / negatives, tp / positives));
        }
        Self { points, auc }
    }

    /// The highest true-positive rate at a false-positive rate of at most `fpr`.
    pub fn tpr_at(&self, fpr: f64) -> f64 {
        self.points
            .iter()
            .filter(|(f, _)| *f <= fpr)
            .map(|(_, t)| *t)
            .fold(0.0, f64::max)
    }

    /// Share of examples an attack classifies correctly at its best threshold (members and
    /// non-members weighted equally), the "attack accuracy" MCMIA reports.
    pub fn best_balanced_accuracy(&self) -> f64 {
        self.points.iter().map(|(f, t)| (t + 1.0 - f) / 2.0).fold(0.5, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_tied_scores() {
        let member = [true, true, false, false];
        let perfect = Roc::new(&[4.0, 3.0, 2.0, 1.0], &member);
        assert_eq!(perfect.auc, 1.0);
        assert_eq!(perfect.tpr_at(0.0), 1.0);
        assert_eq!(perfect.best_balanced_accuracy(), 1.0);
        let inverted = Roc::new(&[1.0, 2.0, 3.0, 4.0], &member);
        assert_eq!(inverted.auc, 0.0);
        assert_eq!(inverted.tpr_at(0.4), 0.0);
        let tied = Roc::new(&[1.0; 4], &member);
        assert_eq!(tied.auc, 0.5);
        // One member above everything, one below: AUC counts the pairs ranked right.
        let half = Roc::new(&[5.0, 0.0, 2.0, 1.0], &member);
        assert_eq!(half.auc, 0.5);
        assert_eq!(half.tpr_at(0.0), 0.5);
    }
}
