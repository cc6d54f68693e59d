//! The queue's bookkeeping throughput: a no-op objective, one driver process and W worker
//! processes on this machine against a throw-away PostgreSQL cluster, with a worker killed with
//! SIGKILL (and replaced) every 500 ms and the driver killed and restarted once half-way. Checks
//! that the run is exactly the in-process file log's run (nothing lost, nothing twice) and prints
//! candidates per minute as JSON, beside the same run on the file log in one thread.
//!
//! cargo run --release -p canao-store --example queue_overhead -- [CANDIDATES] [WORKERS] [BATCH]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use canao_search::strategy::StrategyKind;
use canao_search::{Budget, CandidateKey, Evaluation, LocalStore, Objective, Record, Reward, Runner, SearchLog};
use canao_store::{DriverOptions, Objectives, PgStore, ServeOptions, Study, TempCluster};

/// A million points: the random strategy rarely repeats one.
const CARDS: [usize; 6] = [10; 6];
const SEED: u64 = 3;
const LEASE: Duration = Duration::from_secs(2);

/// Nothing to compute: the score is a fixed function of the point.
struct Noop;

impl Objective for Noop {
    fn key(&self, point: &[usize]) -> canao_search::Result<CandidateKey> {
        Ok(CandidateKey(format!("{point:?}")))
    }
    fn describe(&self, point: &[usize]) -> canao_search::Result<serde_json::Value> {
        Ok(serde_json::json!(point))
    }
    fn evaluate(&self, point: &[usize]) -> canao_search::Result<Evaluation> {
        let s = point.iter().fold(0usize, |h, &p| h * 10 + p) as f64 / 1e6;
        Ok(Evaluation {
            accuracy: s,
            score: s,
            latency_ms: 1.0,
            energy_mj: 0.0,
            extra: Default::default(),
        })
    }
}

struct NoopStudies;

impl Objectives for NoopStudies {
    fn objective(&self, _: &Study, _: &serde_json::Value) -> canao_search::Result<Arc<dyn Objective + Send + Sync>> {
        Ok(Arc::new(Noop))
    }
}

fn runner(candidates: usize, batch: usize) -> Runner<'static> {
    Runner {
        objective: &Noop,
        reward: Reward::UNLIMITED,
        budget: Budget {
            evaluations: candidates,
            seconds: None,
        },
        batch,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("driver") => drive(&args[1], &args[2], args[3].parse()?, args[4].parse()?),
        Some("worker") => work(&args[1], &args[2]),
        _ => {
            let n = |i: usize, default: usize| args.get(i).map_or(Ok(default), |a| a.parse());
            orchestrate(n(0, 3000)?, n(1, 8)?, n(2, 8)?)
        }
    }
}

/// The driver process: creates or resumes the study and runs the strategy to the budget.
fn drive(url: &str, study: &str, candidates: usize, batch: usize) -> Result<(), Box<dyn std::error::Error>> {
    let options = DriverOptions {
        worker: format!("bench-driver-{}", std::process::id()),
        threads: 0,
        lease: LEASE,
    };
    let (mut store, logged) = match PgStore::resume(url, study, options.clone()) {
        Ok((store, _, logged)) => (store, logged),
        Err(canao_store::StoreError::Study { .. }) => (
            PgStore::create(url, study, &serde_json::json!({}), options)?,
            Vec::new(),
        ),
        Err(e) => return Err(e.into()),
    };
    let mut strategy = StrategyKind::Random.build(&CARDS, SEED)?;
    runner(candidates, batch).run(strategy.as_mut(), &mut store, logged, &|_| {})?;
    store.close()?;
    Ok(())
}

fn work(url: &str, study: &str) -> Result<(), Box<dyn std::error::Error>> {
    let options = ServeOptions {
        worker: format!("bench-worker-{}", std::process::id()),
        study: Some(study.to_string()),
        threads: 1,
        lease: LEASE,
        exit_when_idle: false,
        hold: Duration::ZERO,
    };
    canao_store::serve(url, &options, &NoopStudies, &|_, _| {})?;
    Ok(())
}

fn spawn(args: &[&str]) -> std::io::Result<Child> {
    Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::null())
        .spawn()
}

fn orchestrate(candidates: usize, workers: usize, batch: usize) -> Result<(), Box<dyn std::error::Error>> {
    let pg = TempCluster::start()?.ok_or("no PostgreSQL server installed (initdb)")?;
    let url = pg.create_database("bench")?;
    let study = "overhead";
    let total = candidates.to_string();
    let batch_s = batch.to_string();
    let driver_args = ["driver", url.as_str(), study, total.as_str(), batch_s.as_str()];
    let start = Instant::now();
    let mut driver = spawn(&driver_args)?;
    let mut pool: Vec<Child> = (0..workers)
        .map(|_| spawn(&["worker", &url, study]))
        .collect::<Result<_, _>>()?;
    let mut client = canao_store::connect(&url)?;
    let kept = |c: &mut postgres::Client| -> i64 {
        c.query_one("SELECT count(*) FROM canao_candidates WHERE record IS NOT NULL", &[])
            .map_or(0, |r| r.get(0))
    };
    // Kill a worker every 500 ms (and start a new one), and the driver once, half-way.
    let (mut worker_kills, mut driver_killed, mut next) = (0, false, 0);
    let status = loop {
        std::thread::sleep(Duration::from_millis(500));
        if let Some(status) = driver.try_wait()? {
            break status;
        }
        pool[next].kill()?;
        pool[next].wait()?;
        pool[next] = spawn(&["worker", &url, study])?;
        next = (next + 1) % workers;
        worker_kills += 1;
        if !driver_killed && kept(&mut client) as usize >= candidates / 2 {
            driver.kill()?;
            driver.wait()?;
            driver = spawn(&driver_args)?;
            driver_killed = true;
        }
    };
    let wall = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("the driver failed: {status}").into());
    }
    for mut w in pool {
        w.wait()?;
    }
    let row = client.query_one(
        "SELECT count(*), count(DISTINCT key), count(record), coalesce(max(attempts), 0) FROM canao_candidates",
        &[],
    )?;
    let (rows, distinct, records, max_attempts): (i64, i64, i64, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let requeued: i64 = client
        .query_one("SELECT count(*) FROM canao_candidates WHERE attempts > 1", &[])?
        .get(0);

    // The same run in-process on the file log: the reference it must equal.
    let dir = std::env::temp_dir().join(format!("canao-queue-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("log.jsonl");
    let _ = std::fs::remove_file(&log);
    let mut file = LocalStore::new(SearchLog::create(&log)?, 1)?;
    let mut strategy = StrategyKind::Random.build(&CARDS, SEED)?;
    let file_start = Instant::now();
    let reference = runner(candidates, batch).run(strategy.as_mut(), &mut file, Vec::new(), &|_| {})?;
    let file_wall = file_start.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&dir)?;
    let got = canao_store::records_of(&mut client, study)?;
    let same = |a: &[Record], b: &[Record]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.key == y.key && x.reward == y.reward)
    };
    let report = serde_json::json!({
        "candidates": candidates,
        "workers": workers,
        "batch": batch,
        "wall_s": wall,
        "candidates_per_minute": candidates as f64 / wall * 60.0,
        "file_log_wall_s": file_wall,
        "file_log_candidates_per_minute": candidates as f64 / file_wall * 60.0,
        "worker_kills": worker_kills,
        "driver_kills": u8::from(driver_killed),
        "rows": rows,
        "distinct_keys": distinct,
        "records": records,
        "claimed_more_than_once": requeued,
        "max_attempts": max_attempts,
        "equals_file_log_run": same(&got, &reference.records),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if records as usize != candidates || distinct != rows || !same(&got, &reference.records) {
        return Err("the queued run lost, repeated or reordered candidates".into());
    }
    Ok(())
}
