//! The conformance suites on PostgreSQL, plus what only PostgreSQL has: monthly partitions
//! with retention, and seqs visible in order with two writers at once.
//!
//! They need a server, so they are ignored by a plain `cargo test`:
//!
//! ```text
//! cargo test -p yuqing-store --test postgres -- --ignored
//! YUQING_TEST_POSTGRES=postgres://user@host:5432/postgres cargo test -p yuqing-store --test postgres -- --ignored
//! ```
//!
//! Every case gets a fresh database (`yuqing_t_<pid>_<n>`, created from `template0` with
//! the C collation so text orders as in SQLite), dropped when its test ends. Databases
//! left behind by a test process that died are dropped by the next run. An unreachable
//! server fails the test with a message saying so: nothing is skipped.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use yuqing_store::{PgStore, Store, StoreError, conformance};

fn admin_url() -> String {
    std::env::var("YUQING_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The databases one test created; [`Dbs::drop_all`] removes them.
struct Dbs {
    admin: PgConnectOptions,
    names: Mutex<Vec<String>>,
}

impl Dbs {
    async fn new() -> Dbs {
        let url = admin_url();
        let admin: PgConnectOptions = url
            .parse()
            .unwrap_or_else(|e| panic!("YUQING_TEST_POSTGRES={url} is not a PostgreSQL URL: {e}"));
        let dbs = Dbs {
            admin,
            names: Mutex::new(Vec::new()),
        };
        dbs.sweep().await;
        dbs
    }

    async fn admin(&self) -> PgConnection {
        PgConnection::connect_with(&self.admin)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is unreachable at {} ({e}). These tests need a server: start \
                     one, or point YUQING_TEST_POSTGRES at one \
                     (postgres://user@host:5432/postgres, a user that may CREATE DATABASE)",
                    admin_url()
                )
            })
    }

    /// Drops databases of test processes that are gone.
    async fn sweep(&self) {
        let mut c = self.admin().await;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'yuqing\\_t\\_%'",
        )
        .fetch_all(&mut c)
        .await
        .expect("list databases");
        for n in names {
            let pid = n.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid
                && pid != std::process::id()
                && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{n}\" WITH (FORCE)"
                )))
                .execute(&mut c)
                .await;
            }
        }
    }

    /// A fresh, empty, migrated store on a new database.
    async fn fresh(&self) -> PgStore {
        let name = format!(
            "yuqing_t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = self.admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        )))
        .execute(&mut c)
        .await
        .expect("create database");
        self.names.lock().expect("names").push(name.clone());
        PgStore::connect_with(self.admin.clone().database(&name))
            .await
            .expect("connect and migrate")
    }

    async fn drop_all(&self) {
        let names = std::mem::take(&mut *self.names.lock().expect("names"));
        let mut c = self.admin().await;
        for n in names {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{n}\" WITH (FORCE)"
            )))
            .execute(&mut c)
            .await
            .expect("drop database");
        }
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn conformance_postgres() {
    let dbs = Dbs::new().await;
    conformance::run_all(|| dbs.fresh()).await;
    dbs.drop_all().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn conformance_reconnect_keeps_data() {
    let dbs = Dbs::new().await;
    let s = dbs.fresh().await;
    let opts = s.pool().connect_options().as_ref().clone();
    conformance::insert_is_idempotent(s).await;
    // Connecting again runs migrations again (no-op) and keeps the data.
    let s = PgStore::connect_with(opts).await.expect("reconnect");
    assert_eq!(s.count().await.expect("count"), 2);
    let again = s
        .insert(&[conformance::new_doc("a", "一", 1)], None)
        .await
        .expect("insert");
    assert!(again.is_empty());
    dbs.drop_all().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn handling_conformance_postgres() {
    let dbs = Dbs::new().await;
    conformance::handling::run_all(|| dbs.fresh()).await;
    dbs.drop_all().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn access_conformance_postgres() {
    let dbs = Dbs::new().await;
    conformance::access::run_all(|| dbs.fresh()).await;
    dbs.drop_all().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn stats_conformance_postgres() {
    let dbs = Dbs::new().await;
    conformance::stats::run_all(|| dbs.fresh()).await;
    dbs.drop_all().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn reports_conformance_postgres() {
    let dbs = Dbs::new().await;
    conformance::reports::run_all(|| dbs.fresh()).await;
    dbs.drop_all().await;
}

/// An unreachable server is a clear error (no server needed for this one).
#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    // Port 1 on the loopback: nothing listens there.
    let err = PgStore::connect("postgres://app:secret@127.0.0.1:1/yuqing")
        .await
        .expect_err("nothing listens on port 1");
    let msg = err.to_string();
    assert!(
        matches!(err, StoreError::Connect { .. }),
        "a connect error: {err:?}"
    );
    assert!(msg.contains("无法连接 PostgreSQL"), "{msg}");
    assert!(
        msg.contains("cannot connect to the PostgreSQL database"),
        "{msg}"
    );
    assert!(
        msg.contains("127.0.0.1:1"),
        "the message names the server: {msg}"
    );
    assert!(!msg.contains("secret"), "no password in the message: {msg}");
    assert!(msg.contains("refused"), "the message says why: {msg}");
    assert_eq!(err.code(), yuqing_core::Code::Unavailable);
    let bad = PgStore::connect("mysql://x")
        .await
        .expect_err("not postgres");
    assert!(matches!(bad, StoreError::Connect { .. }), "{bad:?}");
}

fn doc_at(id: &str, ingested: chrono::DateTime<Utc>) -> yuqing_store::NewDocument {
    let mut d = conformance::new_doc(id, &format!("文本 {id}"), 0);
    d.ingested_at = ingested;
    d
}

/// Monthly partitions are made on demand; retention drops whole months with their
/// identities and plan hits, and keeps events (the shared conformance case, then the
/// partitions).
#[tokio::test]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn partitions_and_retention() {
    let dbs = Dbs::new().await;
    let s = dbs.fresh().await;
    // Documents ingested in January, February and March 2026 (one batch spanning three
    // months: each month's partition is made first), retention before March, then January
    // stored again in March.
    let r = conformance::retention_drops_and_keeps(&s, |cut| {
        let s = s.clone();
        async move { s.drop_partitions_before(cut).await }
    })
    .await;
    assert_eq!(
        r.partitions,
        vec!["documents_2026_01", "documents_2026_02"],
        "whole months before the cut-off's month"
    );
    let names: Vec<String> = s
        .partitions()
        .await
        .expect("partitions")
        .into_iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(
        names,
        vec!["documents_2026_03", "documents_2026_04"],
        "the kept month and the next one"
    );
    // Each document is in its month's partition: March's and January's again.
    let in_mar: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents_2026_03")
        .fetch_one(s.pool())
        .await
        .expect("count");
    assert_eq!(in_mar, 2);
    let at = |m: u32, d: u32| {
        Utc.with_ymd_and_hms(2026, m, d, 12, 0, 0)
            .single()
            .expect("t")
    };
    // A month dropped by someone else is made again when a batch needs it.
    let other = PgStore::connect_with(s.pool().connect_options().as_ref().clone())
        .await
        .expect("second store");
    other
        .insert(&[doc_at("mar2", at(3, 2))], None)
        .await
        .expect("insert");
    s.drop_partitions_before(NaiveDate::from_ymd_opt(2026, 4, 1).expect("d"))
        .await
        .expect("drop march");
    other
        .insert(&[doc_at("mar3", at(3, 3))], None)
        .await
        .expect("the store notices the month is gone and makes it again");
    assert_eq!(s.count().await.expect("count"), 1);
    dbs.drop_all().await;
}

/// Two writers insert overlapping batches at once while a reader follows `scan` like the
/// alert follower: every identity is stored once, and the reader, remembering only the
/// highest seq it saw, misses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn concurrent_writers_commit_in_seq_order() {
    let dbs = Dbs::new().await;
    let s = dbs.fresh().await;
    const BATCHES: usize = 40;
    const PER: usize = 25;
    let writer = |tag: usize| {
        let s = s.clone();
        tokio::spawn(async move {
            let mut stored = 0;
            for b in 0..BATCHES {
                // Half of each batch is shared with the other writer.
                let docs: Vec<_> = (0..PER)
                    .map(|i| {
                        let id = if i % 2 == 0 {
                            format!("shared-{b}-{i}")
                        } else {
                            format!("w{tag}-{b}-{i}")
                        };
                        conformance::new_doc(&id, "并发", i as i64)
                    })
                    .collect();
                stored += s.insert(&docs, None).await.expect("insert").len();
                tokio::task::yield_now().await;
            }
            stored
        })
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let s = s.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut after = 0;
            let mut seen = Vec::new();
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = s.scan(after, 1000).await.expect("scan");
                for d in &page {
                    assert!(d.seq > after, "scan returns seqs in order");
                    after = d.seq;
                    seen.push(d.seq);
                }
                if finished && page.is_empty() {
                    return seen;
                }
            }
        })
    };
    let (a, b) = (writer(1), writer(2));
    let stored = a.await.expect("writer 1") + b.await.expect("writer 2");
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.expect("reader");
    // Per batch: the shared half once, each writer's own half.
    let total = BATCHES * (PER.div_ceil(2) + 2 * (PER / 2));
    assert_eq!(stored, total, "each identity stored by exactly one writer");
    assert_eq!(s.count().await.expect("count") as usize, total);
    let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT (platform, id)) FROM documents")
        .fetch_one(s.pool())
        .await
        .expect("distinct");
    assert_eq!(distinct as usize, total, "no identity twice");
    assert_eq!(
        seen.len(),
        total,
        "a reader that remembers the highest seq seen misses none"
    );
    dbs.drop_all().await;
}

/// Insert rate of 1,000-document batches on PostgreSQL and SQLite, printed (run by hand:
/// `cargo test -p yuqing-store --test postgres insert_rate -- --ignored --nocapture`).
/// Not an assertion: timings depend on the machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn insert_rate_by_hand() {
    let batch = |round: usize| -> Vec<yuqing_store::NewDocument> {
        (0..1000)
            .map(|i| {
                let mut d = conformance::event_doc(
                    &format!("r{round}-{i}"),
                    "某地发生火灾，现场浓烟滚滚，消防正在处置。",
                    i as i64,
                    (round * 1000 + i) as i64 / 10 + 1,
                    i % 10 == 0,
                );
                d.plan_hits = vec![(1, vec!["火灾".into()])];
                d.ingested_at = Utc::now() + Duration::milliseconds(i as i64);
                d
            })
            .collect()
    };
    let rounds = 20;
    let dbs = Dbs::new().await;
    let pg = dbs.fresh().await;
    pg.insert(&batch(99), None).await.expect("warm up");
    let t = std::time::Instant::now();
    for r in 0..rounds {
        pg.insert(&batch(r), None).await.expect("insert");
    }
    let pg_rate = (rounds * 1000) as f64 / t.elapsed().as_secs_f64();
    // Two writers at once, each with half the batches: the advisory lock serialises them.
    let t = std::time::Instant::now();
    let halves: Vec<_> = (0..2)
        .map(|w| {
            let pg = pg.clone();
            let docs: Vec<_> = (0..rounds / 2).map(|r| batch(100 + w * 50 + r)).collect();
            tokio::spawn(async move {
                for d in docs {
                    pg.insert(&d, None).await.expect("insert");
                }
            })
        })
        .collect();
    for h in halves {
        h.await.expect("writer");
    }
    let pg_two = (rounds / 2 * 2 * 1000) as f64 / t.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().expect("tempdir");
    let lite = yuqing_store::SqliteStore::open(&dir.path().join("y.db"))
        .await
        .expect("sqlite");
    lite.insert(&batch(99), None).await.expect("warm up");
    let t = std::time::Instant::now();
    for r in 0..rounds {
        lite.insert(&batch(r), None).await.expect("insert");
    }
    let lite_rate = (rounds * 1000) as f64 / t.elapsed().as_secs_f64();
    println!(
        "1,000-document batches with events and plan hits: PostgreSQL {pg_rate:.0} docs/s \
         (two writers at once: {pg_two:.0} docs/s), SQLite (WAL, on disk) {lite_rate:.0} docs/s"
    );
    dbs.drop_all().await;
}

/// One holder of a lease at a time; the next node gets it when the holder gives it up or
/// its connection is gone (a dead node), and a held lease knows it is held.
#[tokio::test]
#[ignore = "needs PostgreSQL: cargo test -p yuqing-store --test postgres -- --ignored"]
async fn leases_have_one_holder_and_pass_on_when_it_is_gone() {
    let dbs = Dbs::new().await;
    let a = dbs.fresh().await;
    let opts = a.pool().connect_options().as_ref().clone();
    let b = PgStore::connect_with(opts).await.expect("second node");
    let mut la = a
        .try_lease("handling")
        .await
        .expect("ask")
        .expect("first asks, first holds");
    assert!(la.held().await);
    assert!(
        b.try_lease("handling").await.expect("ask").is_none(),
        "held by a"
    );
    // Another name is another lease.
    let other = b.try_lease("sources").await.expect("ask").expect("free");
    // Given up: the other node takes it at once.
    la.release().await;
    let mut lb = b
        .try_lease("handling")
        .await
        .expect("ask")
        .expect("released");
    assert!(lb.held().await);
    assert!(a.try_lease("handling").await.expect("ask").is_none());
    // The holder's session ends without a word (its process died, the network broke):
    // the server frees the lock.
    other.release().await;
    let mut admin = dbs.admin().await;
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
         AND granted AND database = (SELECT oid FROM pg_database WHERE datname = $1)",
    )
    .bind(
        b.pool()
            .connect_options()
            .get_database()
            .expect("database name"),
    )
    .fetch_all(&mut admin)
    .await
    .expect("terminate");
    assert_eq!(killed, [true], "one session held a lease");
    assert!(!lb.held().await, "a broken lease knows it is lost");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let la = loop {
        if let Some(l) = a.try_lease("handling").await.expect("ask") {
            break l;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lease was not freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    drop(la);
    dbs.drop_all().await;
}
