//! The distributed path of issue 7, end to end with the binary: `yuqing collect` of a CED
//! slice to NATS JetStream, `yuqing process` nodes storing into one fresh PostgreSQL
//! database, one of them killed with SIGKILL mid-stream, and then: every document stored
//! exactly once, `yuqing count` on a processor's data directory equal to the count
//! after a SQLite `yuqing import` of the same slice, and the events the two processors
//! built together consistent and equal to the single node's (see [`check_events`]).
//!
//! Ignored by a plain `cargo test`; run with
//! `cargo test -p yuqing --test distributed -- --ignored`. Needs PostgreSQL
//! (`YUQING_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/postgres`, a user
//! that may CREATE DATABASE) and NATS with JetStream (`YUQING_TEST_NATS`, default
//! `nats://127.0.0.1:4222`); fails, never skips, when either is unreachable. Its
//! database (`yuqing_e2e_<pid>`) and streams (namespace `e2e-<pid>`) are its own and
//! removed at the end.

mod common;

use common::{bin, first_events, run, write_lines};
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use yuqing_bus::{Bus, StreamSettings};

fn admin_url() -> String {
    std::env::var("YUQING_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn nats_url() -> String {
    std::env::var("YUQING_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

async fn admin() -> PgConnection {
    let url = admin_url();
    PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is unreachable at {url} ({e}). This test needs a server: start one, \
             or point YUQING_TEST_POSTGRES at one (a user that may CREATE DATABASE)"
        )
    })
}

/// A child process killed when dropped, so a failing test leaves no processor running.
struct Node(Option<Child>);

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `yuqing process` on `data`, its output in `data.log`.
fn processor(data: &Path, db: &str, ns: &str) -> Node {
    std::fs::create_dir_all(data).expect("data dir");
    Command::new(env!("CARGO_BIN_EXE_yuqing"))
        .env_remove("YUQING_DATA")
        .env_remove("YUQING_CONFIG")
        .args(["process", "--ack-wait", "5", "--database", db, "--nats"])
        .arg(nats_url())
        .arg("--bus-namespace")
        .arg(ns)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(data.with_extension("log")).expect("log"))
        .spawn()
        .map(|c| Node(Some(c)))
        .expect("spawn yuqing process")
}

async fn scalar(c: &mut PgConnection, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(c)
        .await
        .expect(sql)
}

fn stop(mut node: Node, name: &str, data: &Path) {
    let mut child = node.0.take().expect("running");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let log = std::fs::read_to_string(data.with_extension("log")).unwrap_or_default();
            assert!(status.success(), "{name} failed on SIGTERM: {log}");
            return;
        }
        assert!(Instant::now() < deadline, "{name} did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: cargo test -p yuqing --test distributed -- --ignored"]
async fn collect_and_two_processors_store_each_document_once() {
    let pid = std::process::id();
    let tmp = tempfile::tempdir().expect("tempdir");
    let lines = first_events(150);
    let ids: HashSet<(String, String)> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            (
                v["platform"].as_str().unwrap_or("").to_owned(),
                v["id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    let slice = write_lines(tmp.path(), "slice.jsonl", &lines);
    let slice = slice.to_str().expect("path");

    // The reference: the same slice imported into SQLite.
    let sqlite = tmp.path().join("sqlite");
    let out = run(&[
        "import",
        "--json",
        "--data",
        sqlite.to_str().expect("path"),
        slice,
    ]);
    let summary: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("summary"),
    )
    .expect("summary json");
    assert_eq!(summary["stored"].as_u64(), Some(ids.len() as u64));
    let word = "医院";
    let count_sqlite = String::from_utf8_lossy(
        &run(&["count", word, "--data", sqlite.to_str().expect("path")]).stdout,
    )
    .trim()
    .to_owned();
    assert_ne!(count_sqlite, "0", "the word must occur in the slice");

    // A fresh database and fresh streams.
    let name = format!("yuqing_e2e_{pid}");
    let mut adm = admin().await;
    // Databases left by test processes that are gone (a failed run).
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'yuqing\\_e2e\\_%'",
    )
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
    // The admin URL with the database replaced (its user and password kept).
    let admin = admin_url();
    let (base, _) = admin.rsplit_once('/').expect("a postgres:// URL");
    let db = format!("{base}/{name}");
    let ns = format!("e2e-{pid}");
    let bus = Bus::connect_with(&nats_url(), StreamSettings::namespaced(&ns))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "this test needs NATS with JetStream at {} (YUQING_TEST_NATS): {e}",
                nats_url()
            )
        });
    bus.delete_streams().await.expect("delete old streams");

    // Collect: everything goes to the bus.
    let out = bin()
        .args([
            "collect",
            "--json",
            "--nats",
            &nats_url(),
            "--bus-namespace",
            &ns,
            slice,
        ])
        .output()
        .expect("run collect");
    assert!(
        out.status.success(),
        "collect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let collected: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("summary"),
    )
    .expect("collect json");
    assert_eq!(collected["read"].as_u64(), Some(lines.len() as u64));
    assert_eq!(collected["rejected"].as_u64(), Some(0));

    // Two processors; the first is killed with SIGKILL once documents are stored.
    let (a, b) = (tmp.path().join("node-a"), tmp.path().join("node-b"));
    let mut pa = processor(&a, &db, &ns);
    let pb = processor(&b, &db, &ns);
    // The processors create the schema; connect once they did.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut c = loop {
        if let Ok(mut c) = PgConnection::connect(&db).await
            && sqlx::query("SELECT 1 FROM documents LIMIT 1")
                .execute(&mut c)
                .await
                .is_ok()
        {
            break c;
        }
        assert!(Instant::now() < deadline, "no documents table after 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let at_kill = loop {
        let n = scalar(&mut c, "SELECT count(*) FROM documents").await;
        if n > 0 {
            break n;
        }
        assert!(Instant::now() < deadline, "nothing stored after 120 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut killed = pa.0.take().expect("running");
    killed.kill().expect("kill -9");
    let _ = killed.wait();
    eprintln!(
        "processor a killed with {at_kill} of {} documents stored",
        ids.len()
    );
    // A processor restarted on the killed node's data directory (its index catches up).
    let pa2 = processor(&a, &db, &ns);

    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let n = scalar(&mut c, "SELECT count(*) FROM documents").await;
        if n as usize >= ids.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {n} of {} documents stored after 300 s",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Redeliveries of the killed processor's batch (after ack_wait) must be skipped.
    tokio::time::sleep(Duration::from_secs(7)).await;
    stop(pb, "processor b", &b);
    stop(pa2, "processor a (restarted)", &a);

    let stored = scalar(&mut c, "SELECT count(*) FROM documents").await;
    let distinct = scalar(
        &mut c,
        "SELECT count(*) FROM (SELECT DISTINCT platform, id FROM documents) d",
    )
    .await;
    assert_eq!(stored as usize, ids.len(), "documents stored");
    assert_eq!(distinct, stored, "a document stored twice");
    let (docs, _) = bus.stream_counts().await.expect("stream counts");
    assert_eq!(docs as usize, ids.len(), "messages on the bus");

    // Events (issue 7: event ids and grouping shared by the processors).
    check_events(&mut c, &sqlite.join("yuqing.db")).await;

    // Each processor's index holds the whole store.
    for node in [&a, &b] {
        let out = run(&[
            "count",
            word,
            "--database",
            &db,
            "--data",
            node.to_str().expect("path"),
        ]);
        let n = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(n, count_sqlite, "count {word} on {}", node.display());
    }

    drop(c);
    bus.delete_streams().await.expect("delete streams");
    adm.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .await
    .expect("drop database");
}

/// (platform, id) → event of every document, and each event's document counter.
type Partition = (HashMap<String, i64>, HashMap<i64, i64>);

/// Checks the events the processors built in PostgreSQL, then compares them with the
/// SQLite import of the same slice (one writer, the file's order):
/// - every document is in exactly one event, and the event exists (ids are unique: the
///   primary key, allocated from the store's sequence);
/// - every repost is in the same event as its parent, hence as its root (CED has every
///   parent in the slice);
/// - each event's document counter equals the number of documents that point at it, and
///   events emptied by a merge count zero;
/// - the partition of documents into events equals the single node's, for the documents
///   of events made by repost trees (the parent chain) and exact reprints. Events in which
///   either side joined distinct posts by online clustering or a SimHash near-duplicate
///   are left out (on either side's say; the test requires that to be under a fifth of the
///   slice): across processors clustering is approximate by design (each processor
///   clusters with what it has seen), so only a difference in the rest is a sharing error.
async fn check_events(c: &mut PgConnection, sqlite: &Path) {
    let null = scalar(c, "SELECT count(*) FROM documents WHERE event_id IS NULL").await;
    assert_eq!(null, 0, "documents without an event");
    let dangling = scalar(
        c,
        "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id)",
    )
    .await;
    assert_eq!(dangling, 0, "documents pointing at a missing event");
    let split = scalar(
        c,
        "SELECT count(*) FROM documents r JOIN documents p ON p.platform = r.platform AND p.id = r.parent_id \
         WHERE r.event_id <> p.event_id",
    )
    .await;
    assert_eq!(split, 0, "reposts in another event than their parent");
    let miscounted = scalar(
        c,
        "SELECT count(*) FROM events e WHERE e.documents <> \
         (SELECT count(*) FROM documents d WHERE d.event_id = e.id)",
    )
    .await;
    assert_eq!(miscounted, 0, "events whose counter is not their members");
    let merged = scalar(
        c,
        "SELECT count(*) FROM events WHERE merged_into IS NOT NULL",
    )
    .await;
    eprintln!("events merged into their parent's (replies stored before it): {merged}");

    let mut pg = pg_partition(c).await;
    let mut single = sqlite_partition(sqlite).await;
    assert_eq!(pg.0.len(), single.0.len(), "documents with an event");
    // Events in which clustering (or a SimHash near-duplicate) joined distinct posts:
    // approximate across processors, so their documents are left out of the comparison,
    // in both, on either side's say.
    let clustered_pg: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM documents WHERE event_id IN (SELECT event_id FROM documents \
         WHERE parent_id IS NULL GROUP BY event_id \
         HAVING count(*) > 1 AND count(DISTINCT content_key) > 1)",
    )
    .fetch_all(&mut *c)
    .await
    .expect("clustered");
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(sqlite)
        .read_only(true);
    let mut lite = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("open sqlite");
    let clustered_single: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM documents WHERE event_id IN (SELECT event_id FROM documents \
         WHERE parent_id IS NULL GROUP BY event_id \
         HAVING count(*) > 1 AND count(DISTINCT content_key) > 1)",
    )
    .fetch_all(&mut lite)
    .await
    .expect("clustered");
    let left_out: HashSet<String> = clustered_pg.into_iter().chain(clustered_single).collect();
    eprintln!(
        "documents of events joined by clustering, left out of the comparison: {} of {}",
        left_out.len(),
        pg.0.len()
    );
    assert!(
        left_out.len() * 5 < pg.0.len(),
        "clustering joined so much of the slice that the comparison says little"
    );
    pg.0.retain(|id, _| !left_out.contains(id));
    single.0.retain(|id, _| !left_out.contains(id));
    let blocks = |p: &Partition| {
        let mut by_event: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, e) in &p.0 {
            by_event.entry(*e).or_default().push(id.clone());
        }
        let mut out: Vec<Vec<String>> = by_event
            .into_values()
            .map(|mut v| {
                v.sort_unstable();
                v
            })
            .collect();
        out.sort_unstable();
        out
    };
    let (bp, bs) = (blocks(&pg), blocks(&single));
    if bp != bs {
        let sp: HashSet<&Vec<String>> = bp.iter().collect();
        let ss: HashSet<&Vec<String>> = bs.iter().collect();
        let only_pg: Vec<_> = sp
            .difference(&ss)
            .take(3)
            .map(|v| &v[..v.len().min(5)])
            .collect();
        let only_single: Vec<_> = ss
            .difference(&sp)
            .take(3)
            .map(|v| &v[..v.len().min(5)])
            .collect();
        panic!(
            "the processors' events differ from the single node's: {} vs {} events; \
             only here (first ids): {only_pg:?}; only in SQLite: {only_single:?}",
            bp.len(),
            bs.len()
        );
    }
    eprintln!("{} events (the rest), equal to the single node's", bp.len());
}

async fn pg_partition(c: &mut PgConnection) -> Partition {
    let docs: Vec<(String, i64)> = sqlx::query_as("SELECT id, event_id FROM documents")
        .fetch_all(&mut *c)
        .await
        .expect("documents");
    let events: Vec<(i64, i64)> = sqlx::query_as("SELECT id, documents FROM events")
        .fetch_all(&mut *c)
        .await
        .expect("events");
    (docs.into_iter().collect(), events.into_iter().collect())
}

async fn sqlite_partition(path: &Path) -> Partition {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut c = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .expect("open sqlite");
    let docs: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, event_id FROM documents WHERE event_id IS NOT NULL")
            .fetch_all(&mut c)
            .await
            .expect("documents");
    let events: Vec<(i64, i64)> = sqlx::query_as("SELECT id, documents FROM events")
        .fetch_all(&mut c)
        .await
        .expect("events");
    (docs.into_iter().collect(), events.into_iter().collect())
}
