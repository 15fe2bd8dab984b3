//! What the multi-process suites of issue 7 share: the local PostgreSQL and NATS, a fresh
//! database and bus namespace per test, and `yuqing process` nodes as child processes.
//! Every helper fails (never skips) with a message saying what is missing.
#![allow(dead_code)]

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use yuqing_bus::{Bus, StreamSettings};

pub fn admin_url() -> String {
    std::env::var("YUQING_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn nats_url() -> String {
    std::env::var("YUQING_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

pub async fn admin() -> PgConnection {
    let url = admin_url();
    PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is unreachable at {url} ({e}). This test needs a server: start one, \
             or point YUQING_TEST_POSTGRES at one (a user that may CREATE DATABASE)"
        )
    })
}

/// A database `<prefix>_<pid>` and bus namespace of this test process, removed on
/// [`Cluster::remove`]; leftovers of test processes that are gone are dropped first.
pub struct Cluster {
    pub name: String,
    /// The database's URL (the admin URL's user and password kept).
    pub db: String,
    pub ns: String,
    pub bus: Bus,
}

impl Cluster {
    pub async fn new(prefix: &str) -> Cluster {
        let pid = std::process::id();
        let name = format!("{prefix}_{pid}");
        let mut adm = admin().await;
        let left: Vec<String> =
            sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
                .bind(format!("{}\\_%", prefix.replace('_', "\\_")))
                .fetch_all(&mut adm)
                .await
                .expect("list databases");
        for n in left {
            let gone = n
                .rsplit('_')
                .next()
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| p != pid && !Path::new(&format!("/proc/{p}")).exists());
            if gone {
                let _ = adm
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{n}\" WITH (FORCE)"
                    )))
                    .await;
            }
        }
        adm.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .await
        .expect("drop old database");
        adm.execute(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        )))
        .await
        .expect("create database");
        let admin = admin_url();
        let (base, _) = admin.rsplit_once('/').expect("a postgres:// URL");
        let db = format!("{base}/{name}");
        let ns = format!("{}-{pid}", prefix.replace('_', "-"));
        let bus = Bus::connect_with(&nats_url(), StreamSettings::namespaced(&ns))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "this test needs NATS with JetStream at {} (YUQING_TEST_NATS): {e}",
                    nats_url()
                )
            });
        bus.delete_streams().await.expect("delete old streams");
        Cluster { name, db, ns, bus }
    }

    /// A connection to the database once a processor has created the schema.
    pub async fn connect_when_ready(&self) -> PgConnection {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(mut c) = PgConnection::connect(&self.db).await
                && sqlx::query("SELECT 1 FROM documents LIMIT 1")
                    .execute(&mut c)
                    .await
                    .is_ok()
            {
                return c;
            }
            assert!(Instant::now() < deadline, "no documents table after 120 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `yuqing process` on `data` (output in `data.log`) with extra arguments.
    pub fn processor(&self, data: &Path, extra: &[&str]) -> Node {
        std::fs::create_dir_all(data).expect("data dir");
        Command::new(env!("CARGO_BIN_EXE_yuqing"))
            .env_remove("YUQING_DATA")
            .env_remove("YUQING_CONFIG")
            .args([
                "process",
                "--ack-wait",
                "5",
                "--database",
                &self.db,
                "--nats",
            ])
            .arg(nats_url())
            .arg("--bus-namespace")
            .arg(&self.ns)
            .arg("--data")
            .arg(data)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(data.with_extension("log")).expect("log"))
            .spawn()
            .map(|c| Node(Some(c), data.with_extension("log")))
            .expect("spawn yuqing process")
    }

    /// `yuqing collect` of the configured sources (no file), output in `log`.
    pub fn collector(&self, log: &Path, config: &str) -> Node {
        Command::new(env!("CARGO_BIN_EXE_yuqing"))
            .env_remove("YUQING_DATA")
            .env_remove("YUQING_CONFIG")
            .args([
                "collect",
                "--database",
                &self.db,
                "--config",
                config,
                "--nats",
            ])
            .arg(nats_url())
            .arg("--bus-namespace")
            .arg(&self.ns)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("log"))
            .spawn()
            .map(|c| Node(Some(c), log.to_owned()))
            .expect("spawn yuqing collect")
    }

    /// `yuqing collect --json FILE` into this cluster's bus; its summary.
    pub fn collect(&self, file: &str) -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_yuqing"))
            .env_remove("YUQING_DATA")
            .env_remove("YUQING_CONFIG")
            .args([
                "collect",
                "--json",
                "--nats",
                &nats_url(),
                "--bus-namespace",
            ])
            .arg(&self.ns)
            .arg(file)
            .output()
            .expect("run collect");
        assert!(
            out.status.success(),
            "collect failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .expect("summary"),
        )
        .expect("collect json")
    }

    pub async fn remove(self) {
        self.bus.delete_streams().await.expect("delete streams");
        let mut adm = admin().await;
        adm.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .await
        .expect("drop database");
    }
}

/// A child process (and the file its output goes to) killed when dropped, so a failing
/// test leaves no processor running.
pub struct Node(Option<Child>, std::path::PathBuf);

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Node {
    /// SIGKILL, no chance to tidy up.
    pub fn kill(mut self) {
        let mut c = self.0.take().expect("running");
        c.kill().expect("kill -9");
        let _ = c.wait();
    }

    /// SIGTERM; it must stop cleanly within a minute.
    pub fn stop(mut self, name: &str) {
        let mut child = self.0.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                let log = std::fs::read_to_string(&self.1).unwrap_or_default();
                assert!(status.success(), "{name} failed on SIGTERM: {log}");
                return;
            }
            assert!(Instant::now() < deadline, "{name} did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

pub async fn scalar(c: &mut PgConnection, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(c)
        .await
        .expect(sql)
}
