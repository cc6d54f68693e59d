//! The strategies and the runner on synthetic objectives: each strategy finds the optimum within
//! a small budget, runs are reproducible from their seed, and a killed run resumes without losing
//! or repeating an evaluation.

use std::sync::atomic::{AtomicUsize, Ordering};

use canao_search::strategy::{Point, StrategyKind};
use canao_search::{Budget, Evaluation, LocalStore, Objective, Record, Report, Reward, Runner, SearchLog, StopReason};

/// Score 1 at `target`, falling by the normalised distance of each decision from it; latency
/// grows with the sum of the choices so a limit can cut the space.
struct Separable {
    cardinalities: Vec<usize>,
    target: Vec<usize>,
    calls: AtomicUsize,
}

impl Separable {
    fn new(cardinalities: &[usize], target: &[usize]) -> Self {
        Self {
            cardinalities: cardinalities.to_vec(),
            target: target.to_vec(),
            calls: AtomicUsize::new(0),
        }
    }
}

impl Objective for Separable {
    fn key(&self, point: &[usize]) -> canao_search::Result<canao_search::CandidateKey> {
        Ok(canao_search::CandidateKey(format!("{point:?}")))
    }
    fn describe(&self, point: &[usize]) -> canao_search::Result<serde_json::Value> {
        Ok(serde_json::json!(point))
    }
    fn evaluate(&self, point: &[usize]) -> canao_search::Result<Evaluation> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let d = point.len() as f64;
        let distance: f64 = point
            .iter()
            .zip(&self.target)
            .zip(&self.cardinalities)
            .map(|((&p, &t), &c)| p.abs_diff(t) as f64 / (c.max(2) - 1) as f64)
            .sum();
        let score = 1.0 - distance / d;
        Ok(Evaluation {
            accuracy: score,
            score,
            latency_ms: point.iter().sum::<usize>() as f64,
            energy_mj: 0.0,
            extra: Default::default(),
        })
    }
}

fn run(
    kind: StrategyKind,
    objective: &Separable,
    seed: u64,
    evaluations: usize,
    log_path: &std::path::Path,
) -> canao_search::Outcome {
    let runner = Runner {
        objective,
        reward: Reward::UNLIMITED,
        budget: Budget {
            evaluations,
            seconds: None,
        },
        batch: 4,
    };
    let mut strategy = kind.build(&objective.cardinalities, seed).unwrap();
    let (log, logged) = if log_path.exists() {
        SearchLog::resume(log_path).unwrap()
    } else {
        (SearchLog::create(log_path).unwrap(), Vec::new())
    };
    let mut store = LocalStore::new(log, 4).unwrap();
    runner.run(strategy.as_mut(), &mut store, logged, &|_| {}).unwrap()
}

fn best(o: &canao_search::Outcome) -> f64 {
    o.records.iter().map(|r| r.reward).fold(f64::NEG_INFINITY, f64::max)
}

const CARDS: [usize; 8] = [2, 6, 4, 3, 3, 2, 6, 4];
const TARGET: [usize; 8] = [1, 4, 0, 2, 1, 0, 5, 3];

#[test]
fn guided_strategies_find_the_optimum_within_a_small_budget() {
    // 41,472 points; each strategy gets under 1 % of them.
    for kind in [StrategyKind::Evolution, StrategyKind::Greedy, StrategyKind::ZerothOrder] {
        for seed in 0..3 {
            let dir = tempdir();
            let o = Separable::new(&CARDS, &TARGET);
            let out = run(kind, &o, seed, 400, &dir.path().join("log.jsonl"));
            assert!(
                (best(&out) - 1.0).abs() < 1e-12,
                "{} seed {seed}: best {} after {} evaluations",
                kind.name(),
                best(&out),
                out.records.len()
            );
        }
    }
}

#[test]
fn random_search_finds_the_optimum_of_a_small_space() {
    // 36 points and a budget of 36 distinct candidates: random search must cover the space.
    let dir = tempdir();
    let o = Separable::new(&[2, 3, 2, 3], &[1, 2, 0, 1]);
    let out = run(StrategyKind::Random, &o, 3, 36, &dir.path().join("log.jsonl"));
    assert_eq!(best(&out), 1.0);
    assert_eq!(
        o.calls.load(Ordering::SeqCst),
        out.records.len(),
        "a candidate was evaluated twice"
    );
}

fn report_without_time(o: &canao_search::Outcome) -> Report {
    let mut r = Report::new(o, &Reward::UNLIMITED);
    r.wall_s = 0.0;
    r
}

fn strip_time(records: &[Record]) -> Vec<Record> {
    records
        .iter()
        .cloned()
        .map(|r| Record { elapsed_s: 0.0, ..r })
        .collect()
}

/// Equal apart from timing; on a difference, names the first record that differs (not all 50).
fn assert_same_records(a: &[Record], b: &[Record], what: &str) {
    let (a, b) = (strip_time(a), strip_time(b));
    assert_eq!(a.len(), b.len(), "{what}: record counts");
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!("{what}: record {i} differs:\n{:?}\n{:?}", a[i], b[i]);
    }
}

#[test]
fn the_same_seed_gives_the_same_report() {
    for kind in StrategyKind::ALL {
        let a = run(
            kind,
            &Separable::new(&CARDS, &TARGET),
            11,
            60,
            &tempdir().path().join("a.jsonl"),
        );
        let b = run(
            kind,
            &Separable::new(&CARDS, &TARGET),
            11,
            60,
            &tempdir().path().join("b.jsonl"),
        );
        assert_eq!(report_without_time(&a), report_without_time(&b), "{}", kind.name());
        assert_same_records(&a.records, &b.records, kind.name());
        let c = run(
            kind,
            &Separable::new(&CARDS, &TARGET),
            12,
            60,
            &tempdir().path().join("c.jsonl"),
        );
        assert_ne!(strip_time(&a.records), strip_time(&c.records), "{}", kind.name());
    }
}

#[test]
fn a_killed_run_resumes_losing_and_repeating_nothing() {
    for kind in StrategyKind::ALL {
        let whole = run(
            kind,
            &Separable::new(&CARDS, &TARGET),
            5,
            50,
            &tempdir().path().join("whole.jsonl"),
        );

        // The same run killed after 23 evaluations, in the middle of writing the 24th line.
        let dir = tempdir();
        let path = dir.path().join("log.jsonl");
        run(kind, &Separable::new(&CARDS, &TARGET), 5, 50, &path);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let torn = &lines[23][..lines[23].len() / 2];
        std::fs::write(&path, format!("{}\n{torn}", lines[..23].join("\n"))).unwrap();

        let resumed_objective = Separable::new(&CARDS, &TARGET);
        let resumed = run(kind, &resumed_objective, 5, 50, &path);
        assert_eq!(
            resumed_objective.calls.load(Ordering::SeqCst),
            50 - 23,
            "{}: the resumed run must evaluate exactly what the log lacks",
            kind.name()
        );
        assert_same_records(&resumed.records, &whole.records, kind.name());
        assert_eq!(resumed.stop, StopReason::Evaluations);
        // The log now holds every evaluation once, each line whole.
        let (_, logged) = SearchLog::resume(&path).unwrap();
        assert_eq!(logged.len(), 50, "{}", kind.name());
    }
}

#[test]
fn a_resumed_run_whose_time_is_spent_still_returns_its_logged_records() {
    let dir = tempdir();
    let path = dir.path().join("log.jsonl");
    let first = run(StrategyKind::Evolution, &Separable::new(&CARDS, &TARGET), 3, 20, &path);
    // Resumed with a larger budget but a wall time the first session already used up.
    let objective = Separable::new(&CARDS, &TARGET);
    let runner = Runner {
        objective: &objective,
        reward: Reward::UNLIMITED,
        budget: Budget {
            evaluations: 50,
            seconds: Some(1e-12),
        },
        batch: 4,
    };
    let mut strategy = StrategyKind::Evolution.build(&CARDS, 3).unwrap();
    let (log, logged) = SearchLog::resume(&path).unwrap();
    let mut store = LocalStore::new(log, 4).unwrap();
    let resumed = runner.run(strategy.as_mut(), &mut store, logged, &|_| {}).unwrap();
    assert_eq!(resumed.stop, StopReason::WallTime);
    assert_eq!(objective.calls.load(Ordering::SeqCst), 0, "nothing new is evaluated");
    assert_same_records(&resumed.records, &first.records, "evolution");
}

#[test]
fn a_corrupt_log_line_is_refused_with_its_line_number() {
    let dir = tempdir();
    let path = dir.path().join("log.jsonl");
    run(StrategyKind::Random, &Separable::new(&CARDS, &TARGET), 1, 5, &path);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("\"reward\"", "\"rewrd\"", 2);
    std::fs::write(&path, text).unwrap();
    let e = SearchLog::resume(&path).unwrap_err().to_string();
    assert!(e.contains("log.jsonl:1:"), "{e}");
}

#[test]
fn a_new_log_never_overwrites_an_old_one() {
    let dir = tempdir();
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, "{}\n").unwrap();
    assert!(SearchLog::create(&path).is_err());
}

#[test]
fn the_latency_limit_penalises_in_proportion_to_the_overshoot() {
    let reward = Reward {
        latency_limit_ms: 10.0,
        penalty: 2.0,
    };
    let e = |latency_ms| Evaluation {
        accuracy: 0.8,
        score: 0.8,
        latency_ms,
        energy_mj: 0.0,
        extra: Default::default(),
    };
    assert_eq!(reward.of(&e(10.0)), 0.8);
    assert!((reward.of(&e(12.0)) - 0.4).abs() < 1e-12);
    assert!(reward.of(&e(15.0)) < reward.of(&e(12.0)));
}

/// A fresh folder, removed when the test is done with it.
fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("canao-search-test-").tempdir().unwrap()
}

/// Every strategy refuses a told point that is not one of its decision vectors (wrong length, or
/// a choice past its cardinality), and a space with a decision of no choices, with typed errors.
#[test]
fn strategies_refuse_points_outside_their_decisions() {
    let cards = [3, 2, 4];
    for kind in StrategyKind::ALL {
        let mut s = kind.build(&cards, 1).unwrap();
        let asked = s.ask(2);
        let good: Vec<(Point, f64)> = asked.into_iter().map(|p| (p, 0.5)).collect();
        s.tell(&good).unwrap();
        for bad in [vec![0, 1], vec![0, 2, 0], vec![3, 0, 0]] {
            let err = s.tell(&[(bad.clone(), 1.0)]).unwrap_err().to_string();
            assert!(
                err.contains(&format!("{bad:?}")) && err.contains("[3, 2, 4]"),
                "{}: {err}",
                kind.name()
            );
        }
        let err = kind
            .build(&[2, 0], 1)
            .err()
            .expect("a decision without choices")
            .to_string();
        assert!(err.contains("at least one choice"), "{err}");
    }
}
