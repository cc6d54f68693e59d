//! A throw-away PostgreSQL cluster: initdb in a temporary folder, a server on a free loopback
//! port with password logins, stopped and removed on drop. The suite and the overhead benchmark
//! run against it; nothing of the machine's own PostgreSQL is touched.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Result, StoreError};

const USER: &str = "canao";
/// Set where tests must find a PostgreSQL server rather than skip.
pub const REQUIRE_ENV: &str = "CANAO_REQUIRE_POSTGRES";
/// The superuser's password of every throw-away cluster (it listens on loopback only).
pub const PASSWORD: &str = "canao-test";

#[derive(Debug)]
pub struct TempCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// initdb and the server refuse to run as root: as root they run as the `postgres` user.
    as_postgres: bool,
}

impl TempCluster {
    /// Starts a cluster; `None` when no PostgreSQL server is installed (`initdb` under
    /// $CANAO_PG_BIN, /usr/lib/postgresql/*/bin or on PATH).
    pub fn start() -> Result<Option<Self>> {
        let Some(bin) = server_bin() else { return Ok(None) };
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "canao-pg-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| fail(&dir, e))?;
        // The server's user writes its data, log and socket here.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).map_err(|e| fail(&dir, e))?;
        let pw = dir.join("pw");
        std::fs::write(&pw, PASSWORD).map_err(|e| fail(&pw, e))?;
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).map_err(|e| fail(&pw, e))?;
        let mut cluster = Self {
            dir,
            bin,
            port: 0,
            as_postgres: is_root(),
        };
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                USER.as_ref(),
                "--auth=scram-sha-256".as_ref(),
                format!("--pwfile={}", pw.display()).as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        cluster.port = free_port()?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            cluster.port,
            cluster.dir.display()
        );
        let log = cluster.dir.join("log");
        cluster.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        )?;
        Ok(Some(cluster))
    }

    /// For tests: a cluster, or `None` (the caller skips) where PostgreSQL is not installed;
    /// where the suite requires it (`CANAO_REQUIRE_POSTGRES` set, as scripts/test.sh does after
    /// installing it) its absence is an error instead.
    pub fn for_tests() -> Result<Option<Self>> {
        let cluster = Self::start()?;
        if cluster.is_none() {
            if std::env::var_os(REQUIRE_ENV).is_some() {
                return Err(StoreError::Cluster(format!(
                    "{REQUIRE_ENV} is set but no PostgreSQL server (initdb) was found"
                )));
            }
            eprintln!("skipped: no PostgreSQL server installed");
        }
        Ok(cluster)
    }

    /// The URL of `database` on this cluster, as the superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database; returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .map_err(|e| StoreError::Cluster(format!("connecting to the new cluster: {e}")))?;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .map_err(StoreError::query("creating a database"))?;
        Ok(self.url(name))
    }

    fn run(&self, tool: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
        let exe = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| StoreError::Cluster(format!("running {}: {e}", exe.display())))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        Err(StoreError::Cluster(format!(
            "{tool} failed ({}): {}{}{log}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        )))
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if self.port != 0 {
            let _ = self.run(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-m".as_ref(),
                    "immediate".as_ref(),
                    "-w".as_ref(),
                    "stop".as_ref(),
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The folder holding `initdb` and `pg_ctl`.
fn server_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CANAO_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    // The newest major version (numeric order: 9 before 15).
    versions.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        })
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| StoreError::Cluster(format!("finding a free loopback port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| StoreError::Cluster(format!("finding a free loopback port: {e}")))
}

fn fail(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Cluster(format!("{}: {e}", path.display()))
}
