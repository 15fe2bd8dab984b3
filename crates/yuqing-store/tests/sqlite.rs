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

/// Retention on SQLite (`SqliteStore::drop_documents_before`) removes and keeps what
/// PostgreSQL's `drop_partitions_before` does (the shared conformance case).
#[tokio::test]
async fn retention_drops_documents_before_the_month_and_keeps_events() {
    let s = SqliteStore::in_memory().await.expect("open");
    let r = conformance::retention_drops_and_keeps(&s, |cut| {
        let s = s.clone();
        async move { s.drop_documents_before(cut).await }
    })
    .await;
    assert!(r.partitions.is_empty(), "SQLite has no partitions");
}

/// Retention deletes in chunks: more documents than one chunk all go, and nothing else.
#[tokio::test]
async fn retention_deletes_more_than_one_chunk() {
    use chrono::{NaiveDate, TimeZone, Utc};
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SqliteStore::open(&dir.path().join("yuqing.db"))
        .await
        .expect("open");
    let old = Utc
        .with_ymd_and_hms(2025, 6, 1, 8, 0, 0)
        .single()
        .expect("t");
    let new = Utc
        .with_ymd_and_hms(2025, 8, 1, 8, 0, 0)
        .single()
        .expect("t");
    let docs: Vec<_> = (0..25_000)
        .map(|i| {
            let mut d = conformance::new_doc(&format!("d{i}"), "一条旧文本", 0);
            d.ingested_at = if i < 24_990 { old } else { new };
            d
        })
        .collect();
    for chunk in docs.chunks(5_000) {
        s.insert(chunk, None).await.expect("insert");
    }
    let r = s
        .drop_documents_before(NaiveDate::from_ymd_opt(2025, 7, 31).expect("d"))
        .await
        .expect("retention");
    assert_eq!(r.documents, 24_990);
    assert_eq!(s.count().await.expect("count"), 10);

    // Everything old: the newest document stays, so the next one gets a higher seq (SQLite
    // would number an emptied table from 1 again).
    let max = s.max_seq().await.expect("max");
    let r = s
        .drop_documents_before(NaiveDate::from_ymd_opt(2026, 1, 1).expect("d"))
        .await
        .expect("retention");
    assert_eq!(r.documents, 9);
    assert_eq!(s.count().await.expect("count"), 1);
    assert_eq!(s.first_seq().await.expect("first"), max, "the newest stays");
    let next = s
        .insert(&[conformance::new_doc("later", "新文本", 0)], None)
        .await
        .expect("insert");
    assert_eq!(next[0].seq, max + 1);
}
