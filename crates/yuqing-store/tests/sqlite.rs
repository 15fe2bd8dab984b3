//! The conformance suite on SQLite, in memory and on disk.

use yuqing_store::{SqliteStore, Store, conformance};

#[tokio::test]
async fn conformance_in_memory() {
    conformance::run_all(|| async { SqliteStore::in_memory().await.expect("open") }).await;
}

#[tokio::test]
async fn conformance_on_disk_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("yuqing.db");
    {
        let s = SqliteStore::open(&path).await.expect("open");
        conformance::insert_is_idempotent(s).await;
    }
    // Reopening runs migrations again (no-op) and keeps the data.
    let s = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(s.count().await.expect("count"), 2);
    let again = s
        .insert(&[conformance::new_doc("a", "一", 1)], None)
        .await
        .expect("insert");
    assert!(again.is_empty());
}

#[tokio::test]
async fn handling_conformance_in_memory() {
    conformance::handling::run_all(|| async { SqliteStore::in_memory().await.expect("open") })
        .await;
}

#[tokio::test]
async fn access_conformance_in_memory() {
    conformance::access::run_all(|| async { SqliteStore::in_memory().await.expect("open") }).await;
}

#[tokio::test]
async fn stats_conformance_in_memory() {
    conformance::stats::run_all(|| async { SqliteStore::in_memory().await.expect("open") }).await;
}

#[tokio::test]
async fn reports_conformance_in_memory() {
    conformance::reports::run_all(|| async { SqliteStore::in_memory().await.expect("open") }).await;
}
