//! Fault injection (issue 8): processes killed at the worst moments.
//!
//! - `serve` killed with SIGKILL while documents are being pushed: every push answered 200
//!   is stored, none twice; `yuqing check` tells what the index lacks, `check --repair`
//!   makes the directory consistent, and a restarted `serve` takes the same documents again
//!   without storing any twice.
//! - `import` killed with SIGKILL half-way: running the same import again stores every
//!   document of the file exactly once and the index matches the store.
//! - A process dying inside an index commit (segments written, meta file not: the
//!   `index-commit` failpoint, see `yuqing_core::failpoint`), in `import` and in `serve`:
//!   nothing stored is lost, the next writer catches the index up, search finds it all.

mod common;

use common::{bin, first_events, run, write_lines};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const TOKEN: &str = "f4ult-t0ken";

fn check(d: &str, repair: bool) -> (bool, Value) {
    let mut c = bin();
    c.args(["check", "--data", d]);
    if repair {
        c.arg("--repair");
    }
    let out = c.output().expect("run check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check printed no JSON ({e}): {err}"));
    (out.status.success(), v)
}

/// Pushes batch `batch` (50 posts); their ids when the server answered 200.
async fn push(c: &reqwest::Client, base: &str, batch: usize) -> Option<Vec<String>> {
    let ids: Vec<String> = (0..50).map(|i| format!("crash-{batch}-{i}")).collect();
    (common::push_posts(c, base, TOKEN, &ids, "崩溃测试文档").await == Some(200)).then_some(ids)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_while_ingesting_loses_nothing_and_check_repairs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = write_lines(tmp.path(), "ced.jsonl", &first_events(5));
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8").to_owned();
    run(&[
        "import",
        src.to_str().expect("utf8"),
        "--data",
        &d,
        "--json",
    ]);
    let config = format!("[server]\npush_tokens = [\"{TOKEN}\"]\n[report]\ndaily_at = \"\"\n");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();

    let mut srv = common::serve(tmp.path(), &config);
    let base = srv.base.clone();
    // Pushes go on concurrently; the server is killed while some are in flight.
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let mut inflight = tokio::task::JoinSet::new();
    for batch in 0..40 {
        let (c, base) = (c.clone(), base.clone());
        inflight.spawn(async move { push(&c, &base, batch).await });
        if batch == 25 {
            srv.child.kill().expect("SIGKILL serve");
        }
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
    while let Some(r) = inflight.join_next().await {
        if let Some(ids) = r.expect("task") {
            acked.extend(ids);
        }
    }
    let _ = srv.child.wait();
    drop(srv);
    assert!(
        !acked.is_empty(),
        "some pushes were answered before the kill"
    );

    // Every answered push is stored, none twice.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{d}/yuqing.db?mode=ro"))
        .await
        .expect("open");
    let stored: BTreeSet<String> =
        sqlx::query_scalar("SELECT id FROM documents WHERE id LIKE 'crash-%'")
            .fetch_all(&pool)
            .await
            .expect("ids")
            .into_iter()
            .collect();
    pool.close().await;
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "answered but not stored: {lost:?}");
    let (_, v) = check(&d, false);
    assert_eq!(v["database_ok"], true, "{v}");
    assert_eq!(v["doubled_identities"], json!([]), "{v}");
    assert_eq!(v["not_stored"], 0, "{v}");
    assert_eq!(v["doubled_in_index"], 0, "{v}");
    assert_eq!(v["audit_ok"], true, "{v}");

    // --repair: consistent, every stored document in the index.
    let (ok, v) = check(&d, true);
    assert!(ok, "check --repair: {v}");
    assert_eq!(v["pending"], 0, "{v}");
    assert_eq!(v["missing_from_index"], 0, "{v}");
    assert_eq!(v["indexed"], v["documents"], "{v}");
    let (ok, _) = check(&d, false);
    assert!(ok, "consistent afterwards");

    // A restarted serve takes the same documents again without storing any twice.
    let srv = common::serve(tmp.path(), &config);
    for batch in 0..40 {
        assert!(
            push(&c, &srv.base, batch).await.is_some(),
            "batch {batch} after restart"
        );
    }
    drop(srv);
    let (ok, v) = check(&d, true);
    assert!(ok, "{v}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{d}/yuqing.db?mode=ro"))
        .await
        .expect("open");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE id LIKE 'crash-%'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(n, 40 * 50, "every batch once");
}

/// Opens the store read-only (while another process may be writing it).
async fn ro(d: &str) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{d}/yuqing.db?mode=ro"))
        .await
        .expect("open read-only")
}

async fn scalar(pool: &sqlx::SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or(0)
}

/// The distinct (platform, id) identities of a JSONL slice.
fn identities(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            format!(
                "{}:{}",
                v["platform"].as_str().unwrap_or("weibo"),
                v["id"].as_str().expect("id")
            )
        })
        .collect()
}

/// Asserts the store holds exactly `want` (each once) and the index matches it.
async fn assert_exact(d: &str, want: &BTreeSet<String>) {
    let pool = ro(d).await;
    let got: Vec<String> = sqlx::query_scalar("SELECT platform || ':' || id FROM documents")
        .fetch_all(&pool)
        .await
        .expect("ids");
    pool.close().await;
    let set: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(got.len(), set.len(), "a document stored twice");
    let lost: Vec<&String> = want.difference(&set).take(5).collect();
    assert!(
        lost.is_empty(),
        "{} lost, e.g. {lost:?}",
        want.difference(&set).count()
    );
    assert_eq!(set.len(), want.len(), "stored documents not in the file");
    let (ok, v) = check(d, false);
    assert!(ok, "check after recovery: {v}");
    assert_eq!(v["indexed"], json!(want.len()), "{v}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_killed_half_way_then_run_again_stores_each_document_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(80);
    let want = identities(&lines);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let d = tmp.path().join("data").to_str().expect("utf8").to_owned();
    let mut child = bin()
        .args([
            "import",
            src.to_str().expect("utf8"),
            "--data",
            &d,
            "--json",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn import");
    // Killed once a good part, but not all, is stored.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut stored_at_kill = 0;
    while std::time::Instant::now() < deadline {
        if tmp.path().join("data/yuqing.db").exists() {
            let pool = ro(&d).await;
            stored_at_kill = scalar(&pool, "SELECT COUNT(*) FROM documents").await;
            pool.close().await;
            if stored_at_kill >= 3_000 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the import ended before it could be killed ({stored_at_kill} stored)"
    );
    child.kill().expect("SIGKILL import");
    let _ = child.wait();
    assert!((stored_at_kill as usize) < want.len(), "killed half-way");

    // The directory is sound (the database, no identity twice); the index may lag.
    let (_, v) = check(&d, false);
    assert_eq!(v["database_ok"], true, "{v}");
    assert_eq!(v["doubled_identities"], json!([]), "{v}");
    assert_eq!(v["doubled_in_index"], 0, "{v}");
    // The same import again: what was stored counts as duplicates, the rest is stored.
    let out = run(&[
        "import",
        src.to_str().expect("utf8"),
        "--data",
        &d,
        "--json",
    ]);
    let summary: Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("summary"),
    )
    .expect("summary json");
    assert_eq!(summary["rejected"], 0, "{summary}");
    assert!(
        summary["duplicates"].as_u64().expect("dups") >= stored_at_kill as u64,
        "{summary}"
    );
    assert_exact(&d, &want).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_dying_inside_an_index_commit_loses_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(5);
    let want = identities(&lines);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let d = tmp.path().join("data").to_str().expect("utf8").to_owned();
    let out = bin()
        .args([
            "import",
            src.to_str().expect("utf8"),
            "--data",
            &d,
            "--json",
        ])
        .env("YUQING_FAILPOINTS", "index-commit")
        .output()
        .expect("run import");
    assert!(!out.status.success(), "the failpoint killed the import");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("failpoint index-commit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Everything is stored; the index has not got it yet, and check says so.
    let pool = ro(&d).await;
    assert_eq!(
        scalar(&pool, "SELECT COUNT(*) FROM documents").await,
        want.len() as i64
    );
    pool.close().await;
    let (ok, v) = check(&d, false);
    assert!(!ok, "the index lags the store: {v}");
    assert_eq!(v["pending"], json!(want.len()), "{v}");
    // The next reader (any search) catches the index up first.
    run(&["count", "谣言", "--data", &d]);
    assert_exact(&d, &want).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_dying_inside_an_index_commit_loses_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("data").to_str().expect("utf8").to_owned();
    let config = format!(
        "[server]\npush_tokens = [\"{TOKEN}\"]\n[ingest]\nindex_commit_secs = 1\n[report]\ndaily_at = \"\"\n"
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, &config).expect("config");
    let mut child = bin()
        .args(["serve", "--bind", "127.0.0.1:0", "--data", &d, "--config"])
        .arg(&cfg)
        .env("YUQING_FAILPOINTS", "index-commit@2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(tmp.path().join("serve.log")).expect("log"))
        .spawn()
        .expect("spawn serve");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).expect("listening line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening")
        .to_owned();
    // Pushes, a batch every 100 ms, until the server dies in its second index commit.
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut batch = 0;
    while std::time::Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if let Some(ids) = push(&c, &base, batch).await {
            acked.extend(ids);
        }
        batch += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let status = child.wait().expect("wait");
    assert!(!status.success(), "serve died at the failpoint");
    let log = std::fs::read_to_string(tmp.path().join("serve.log")).unwrap_or_default();
    assert!(log.contains("failpoint index-commit"), "{log}");
    assert!(!acked.is_empty(), "some pushes were answered before");
    let want: BTreeSet<String> = acked.iter().map(|i| format!("weibo:{i}")).collect();

    // Restarted: every answered push is there once, and search finds every one of them.
    let srv = common::serve(tmp.path(), &config);
    drop(srv);
    let pool = ro(&d).await;
    let stored: BTreeSet<String> =
        sqlx::query_scalar("SELECT platform || ':' || id FROM documents")
            .fetch_all(&pool)
            .await
            .expect("ids")
            .into_iter()
            .collect();
    pool.close().await;
    let lost: Vec<&String> = want.difference(&stored).collect();
    assert!(lost.is_empty(), "answered but lost: {lost:?}");
    let (ok, v) = check(&d, false);
    assert!(ok, "the restarted server caught the index up: {v}");
    assert_eq!(v["indexed"], v["documents"], "{v}");
    let out = run(&["count", "崩溃测试文档", "--data", &d]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        stored.len().to_string(),
        "search finds every stored push"
    );
}
