//! A run's configuration belongs to the library: it reads back as written, refuses other
//! versions and broken files by name, and carries everything a library user needs to resume a
//! killed run to the same end as an uninterrupted one.

use std::path::Path;

use canao_search::strategy::StrategyKind;
use canao_search::{
    Budget, CandidateKey, Evaluation, LocalStore, Objective, Record, Reward, RunConfig, SearchError, SearchLog,
    SearchSpace, Task,
};

/// Reward is highest at every decision's middle choice; latency is the sum of the choices.
struct Middle(Vec<usize>);

impl Objective for Middle {
    fn key(&self, point: &[usize]) -> canao_search::Result<CandidateKey> {
        Ok(CandidateKey(format!("{point:?}")))
    }
    fn describe(&self, point: &[usize]) -> canao_search::Result<serde_json::Value> {
        Ok(serde_json::json!(point))
    }
    fn evaluate(&self, point: &[usize]) -> canao_search::Result<Evaluation> {
        let off: f64 = point
            .iter()
            .zip(&self.0)
            .map(|(&p, &c)| (p as f64 - (c / 2) as f64).abs() / c as f64)
            .sum();
        Ok(Evaluation {
            accuracy: 1.0 - off,
            score: 1.0 - off,
            latency_ms: point.iter().sum::<usize>() as f64,
            energy_mj: 0.0,
            extra: Default::default(),
        })
    }
}

fn config(evaluations: usize) -> RunConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../search-spaces/minilm.ron");
    RunConfig {
        version: canao_search::RUN_VERSION,
        space_file: "minilm".into(),
        space: SearchSpace::from_file(&path).unwrap(),
        device: "snapdragon-855".into(),
        level: 0,
        reward: Reward::UNLIMITED,
        strategy: StrategyKind::Evolution,
        seed: 7,
        budget: Budget {
            evaluations,
            seconds: None,
        },
        batch: 3,
        study: None,
        task: Task::default(),
        measure: false,
        teacher: Evaluation {
            accuracy: 0.7,
            score: 0.8,
            latency_ms: 20.0,
            energy_mj: 1.0,
            extra: Default::default(),
        },
    }
}

/// Runs (or resumes) the run kept in `dir` with nothing but its run.ron and log.
fn run_from(dir: &Path) -> Vec<Record> {
    let config = RunConfig::read(dir).unwrap();
    let objective = Middle(config.space.cardinalities());
    let log = dir.join("log.jsonl");
    let (log, logged) = if log.exists() {
        SearchLog::resume(&log).unwrap()
    } else {
        (SearchLog::create(&log).unwrap(), Vec::new())
    };
    let mut store = LocalStore::new(log, 2).unwrap();
    let mut strategy = config.strategy().unwrap();
    let outcome = config
        .runner(&objective)
        .run(strategy.as_mut(), &mut store, logged, &|_| {})
        .unwrap();
    outcome.records
}

fn without_time(records: Vec<Record>) -> Vec<Record> {
    records.into_iter().map(|r| Record { elapsed_s: 0.0, ..r }).collect()
}

#[test]
fn a_run_config_reads_back_and_resumes_a_run_to_the_same_end() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, killed) = (dir.path().join("whole"), dir.path().join("killed"));
    for d in [&whole, &killed] {
        std::fs::create_dir_all(d).unwrap();
    }
    config(12).write(&whole).unwrap();
    assert_eq!(RunConfig::read(&whole).unwrap(), config(12));
    assert!(
        !RunConfig::scratch_path(&whole).exists(),
        "the temporary file is renamed away"
    );
    let uninterrupted = run_from(&whole);
    assert_eq!(uninterrupted.len(), 12);

    // A run stopped after 5 evaluations, extended to 12 the way `canao search --resume
    // --budget` does: read, change the budget, write, run again.
    config(5).write(&killed).unwrap();
    assert_eq!(run_from(&killed).len(), 5);
    let mut extended = RunConfig::read(&killed).unwrap();
    extended.budget.evaluations = 12;
    extended.write(&killed).unwrap();
    assert_eq!(without_time(run_from(&killed)), without_time(uninterrupted));
}

#[test]
fn a_run_config_of_another_version_or_broken_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut other = config(5);
    other.version += 1;
    other.write(dir.path()).unwrap();
    let e = RunConfig::read(dir.path()).unwrap_err();
    assert!(
        matches!(&e, SearchError::Field { field, .. } if field == "version"),
        "{e}"
    );
    assert!(e.to_string().contains("run.ron"), "{e}");

    std::fs::write(dir.path().join("run.ron"), "RunConfig(version: 1,").unwrap();
    let e = RunConfig::read(dir.path()).unwrap_err();
    assert!(
        matches!(e, SearchError::Ron { .. }) && e.to_string().contains("run.ron"),
        "{e}"
    );

    let e = RunConfig::read(&dir.path().join("absent")).unwrap_err();
    assert!(
        matches!(e, SearchError::Io { .. }) && e.to_string().contains("absent"),
        "{e}"
    );
}
