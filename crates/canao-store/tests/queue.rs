//! The PostgreSQL store against a real server (a throw-away cluster): the same run as the file
//! log, a lapsed lease re-queued and its late result dropped, and typed errors for bad URLs,
//! logins and schemas.

use std::sync::Arc;
use std::time::Duration;

use canao_search::strategy::StrategyKind;
use canao_search::{Budget, CandidateKey, Evaluation, LocalStore, Objective, Record, Reward, Runner, SearchLog};
use canao_store::{DriverOptions, Finish, Objectives, PgStore, ServeOptions, StoreError, Study, TempCluster, Worker};

/// Score falls with the distance from a target point; a few microseconds per evaluation.
#[derive(Debug)]
struct Bowl;

const CARDS: [usize; 5] = [4, 3, 5, 2, 4];

impl Objective for Bowl {
    fn key(&self, point: &[usize]) -> canao_search::Result<CandidateKey> {
        Ok(CandidateKey(format!("{point:?}")))
    }
    fn describe(&self, point: &[usize]) -> canao_search::Result<serde_json::Value> {
        Ok(serde_json::json!(point))
    }
    fn evaluate(&self, point: &[usize]) -> canao_search::Result<Evaluation> {
        let target = [2, 1, 3, 0, 1];
        let d: usize = point.iter().zip(target).map(|(&p, t)| p.abs_diff(t)).sum();
        Ok(Evaluation {
            accuracy: 1.0 / (1.0 + d as f64),
            score: 1.0 / (1.0 + d as f64),
            latency_ms: point.iter().sum::<usize>() as f64 * 0.1,
            energy_mj: 0.0,
            extra: Default::default(),
        })
    }
}

struct BowlStudies;

impl Objectives for BowlStudies {
    fn objective(&self, _: &Study, _: &serde_json::Value) -> canao_search::Result<Arc<dyn Objective + Send + Sync>> {
        Ok(Arc::new(Bowl))
    }
}

fn runner(objective: &Bowl) -> Runner<'_> {
    Runner {
        objective,
        reward: Reward {
            latency_limit_ms: 0.8,
            penalty: 1.0,
        },
        budget: Budget {
            evaluations: 40,
            seconds: None,
        },
        batch: 4,
    }
}

fn summary(records: &[Record]) -> Vec<(usize, String, f64)> {
    records.iter().map(|r| (r.index, r.key.0.clone(), r.reward)).collect()
}

fn driver(threads: usize) -> DriverOptions {
    DriverOptions {
        worker: format!("test-driver-{threads}"),
        threads,
        lease: Duration::from_secs(5),
    }
}

#[test]
fn workers_through_postgres_give_the_file_logs_run() {
    let Some(pg) = TempCluster::for_tests().unwrap() else {
        return;
    };
    let url = pg.create_database("same_run").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut file = LocalStore::new(SearchLog::create(&dir.path().join("log.jsonl")).unwrap(), 2).unwrap();
    let mut strategy = StrategyKind::Evolution.build(&CARDS, 7).unwrap();
    let expected = runner(&Bowl)
        .run(strategy.as_mut(), &mut file, Vec::new(), &|_| {})
        .unwrap();

    // A coordinating driver (it evaluates nothing) and a worker process's two threads.
    let mut store = PgStore::create(&url, "bowl", &serde_json::json!({}), driver(0)).unwrap();
    let options = ServeOptions {
        worker: "test-worker".into(),
        study: Some("bowl".into()),
        threads: 2,
        lease: Duration::from_secs(5),
        exit_when_idle: false,
        hold: Duration::ZERO,
    };
    let got = std::thread::scope(|s| {
        let worker = s.spawn(|| canao_store::serve(&url, &options, &BowlStudies, &|_, _| {}));
        let mut strategy = StrategyKind::Evolution.build(&CARDS, 7).unwrap();
        let got = runner(&Bowl)
            .run(strategy.as_mut(), &mut store, Vec::new(), &|_| {})
            .unwrap();
        store.close().unwrap();
        let served = worker.join().unwrap().unwrap();
        assert_eq!(served.kept, 40, "the worker evaluated every candidate, once");
        got
    });
    assert_eq!(summary(&got.records), summary(&expected.records));

    // The driver resumed from the database finds every record, in order.
    let (_, _, kept) = PgStore::resume(&url, "bowl", driver(1)).unwrap();
    assert_eq!(summary(&kept), summary(&expected.records));

    // A driver evaluating on its own threads (no worker at all) gives the same run again.
    let mut store = PgStore::create(&url, "bowl-local", &serde_json::json!({}), driver(2)).unwrap();
    let mut strategy = StrategyKind::Evolution.build(&CARDS, 7).unwrap();
    let local = runner(&Bowl)
        .run(strategy.as_mut(), &mut store, Vec::new(), &|_| {})
        .unwrap();
    assert_eq!(summary(&local.records), summary(&expected.records));
}

#[test]
fn a_lapsed_lease_is_claimed_again_and_only_the_first_result_is_kept() {
    let Some(pg) = TempCluster::for_tests().unwrap() else {
        return;
    };
    let url = pg.create_database("leases").unwrap();
    let store = PgStore::create(&url, "s", &serde_json::json!({}), driver(0)).unwrap();
    let study = store.study().id;
    let mut client = canao_store::connect(&url).unwrap();
    client
        .execute(
            "INSERT INTO canao_candidates (study, key, idx, point) VALUES ($1, 'a', 0, '[1, 2]')",
            &[&study],
        )
        .unwrap();
    let short = Duration::from_millis(300);
    let mut slow = Worker::new(canao_store::connect(&url).unwrap(), "slow", short);
    let mut fast = Worker::new(canao_store::connect(&url).unwrap(), "fast", short);
    let held = slow.claim(None).unwrap().expect("a queued candidate");
    assert_eq!(held.point, vec![1, 2]);
    assert!(fast.claim(None).unwrap().is_none(), "a live lease is not claimed twice");
    std::thread::sleep(short * 2);
    let again = fast
        .claim(Some(study))
        .unwrap()
        .expect("the lapsed lease is claimed again");
    assert_eq!(again.key, held.key);
    let e = Bowl.evaluate(&again.point).unwrap();
    assert_eq!(fast.finish(&again, Ok(&e)).unwrap(), Finish::Kept);
    assert_eq!(slow.finish(&held, Ok(&e)).unwrap(), Finish::AlreadyKept);
    let row = client
        .query_one(
            "SELECT state, worker, attempts FROM canao_candidates WHERE study = $1",
            &[&study],
        )
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "done");
    assert_eq!(row.get::<_, &str>(1), "fast", "the first result stays");
    assert_eq!(row.get::<_, i32>(2), 2);
}

#[test]
fn bad_urls_logins_and_schemas_are_typed_errors() {
    let Some(pg) = TempCluster::for_tests().unwrap() else {
        return;
    };
    let url = pg.create_database("errors").unwrap();
    let wrong_password = url.replace(canao_store::PASSWORD, "nope");
    let e = canao_store::connect(&wrong_password).err().unwrap();
    assert!(matches!(e, StoreError::Login { .. }), "{e}");
    assert!(!e.to_string().contains("nope"), "no password in messages: {e}");
    let e = canao_store::connect(&pg.url("missing")).err().unwrap();
    assert!(matches!(e, StoreError::NoDatabase { .. }), "{e}");
    assert!(e.to_string().contains("createdb missing"), "{e}");
    let e = canao_store::connect("postgres://canao:x@127.0.0.1:1/db").err().unwrap();
    assert!(matches!(e, StoreError::Unreachable { .. }), "{e}");
    let e = canao_store::connect("mysql://somewhere").err().unwrap();
    assert!(matches!(e, StoreError::Url { .. }), "{e}");

    let mut client = canao_store::connect(&url).unwrap();
    client
        .execute("INSERT INTO canao_schema (version) VALUES (99)", &[])
        .unwrap();
    let e = canao_store::connect(&url).err().unwrap();
    assert!(
        matches!(
            e,
            StoreError::SchemaVersion {
                found: 99,
                known: canao_store::SCHEMA_VERSION
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("same canao version"), "{e}");

    let url = pg.create_database("studies").unwrap();
    PgStore::create(&url, "taken", &serde_json::json!({}), driver(0)).unwrap();
    let e = PgStore::create(&url, "taken", &serde_json::json!({}), driver(0)).unwrap_err();
    assert!(e.to_string().contains("--resume"), "{e}");
    let e = PgStore::resume(&url, "absent", driver(0)).unwrap_err();
    assert!(matches!(e, StoreError::Study { .. }), "{e}");
}
