//! Fault injection (issue 8): `serve` killed with SIGKILL while documents are being pushed.
//! After the crash every push that was answered 200 is stored, none twice; `yuqing check`
//! tells what the index lacks, `yuqing check --repair` makes the directory consistent, and
//! a restarted `serve` takes the same documents again without storing any twice.

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
