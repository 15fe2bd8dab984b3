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
/// PostgreSQL's `drop_partitions_before` does: the documents ingested before the cut-off's
/// month with their plan hits and identities; events with their counters and root
/// mappings stay, and seqs go on rising.
#[tokio::test]
async fn retention_drops_documents_before_the_month_and_keeps_events() {
    use chrono::{NaiveDate, TimeZone, Utc};
    let s = SqliteStore::in_memory().await.expect("open");
    let at = |m: u32, d: u32| {
        Utc.with_ymd_and_hms(2026, m, d, 12, 0, 0)
            .single()
            .expect("t")
    };
    let doc = |id: &str, ingested| {
        let mut d = conformance::new_doc(id, &format!("文本 {id}"), 0);
        d.ingested_at = ingested;
        d.plan_hits = vec![(1, vec!["文本".into()])];
        d.url_canonical = Some(format!("https://example.com/{id}"));
        d
    };
    let link = |founds: bool| yuqing_store::EventLink {
        event_id: 1,
        founds,
        root_key: founds.then(|| "jan".to_owned()),
        original: founds,
        critical: None,
        verify: false,
    };
    let mut jan = doc("jan", at(1, 15));
    jan.event = Some(link(true));
    let mut feb = doc("feb", at(2, 1));
    feb.event = Some(link(false));
    // The first of March, at midnight UTC, is the cut-off: kept.
    let mar = doc(
        "mar",
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
            .single()
            .expect("t"),
    );
    assert_eq!(
        s.insert(&[jan, feb, mar], None)
            .await
            .expect("insert")
            .len(),
        3
    );
    let first_before = s.first_seq().await.expect("first");

    let cut = NaiveDate::from_ymd_opt(2026, 3, 10).expect("date");
    let r = s.drop_documents_before(cut).await.expect("retention");
    assert_eq!(r.documents, 2, "January and February go, March stays");
    assert!(r.partitions.is_empty());
    assert_eq!(s.count().await.expect("count"), 1);
    assert!(s.get("weibo", "jan").await.expect("get").is_none());
    assert!(s.get("weibo", "mar").await.expect("get").is_some());
    assert!(
        s.first_seq().await.expect("first") > first_before,
        "the lowest seq rises, so indexes forget what is below it"
    );
    assert_eq!(
        s.plan_hit_count(1).await.expect("hits"),
        1,
        "the plan hits of dropped documents go with them"
    );
    assert!(
        s.existing_ids("weibo", &["jan", "feb"])
            .await
            .expect("ids")
            .is_empty(),
        "their identities are free"
    );
    assert!(
        s.existing_urls(&["https://example.com/jan"])
            .await
            .expect("urls")
            .is_empty()
    );
    let e = &s.events_by_id(&[1]).await.expect("events")[0];
    assert_eq!(e.documents, 2, "event counters are history");
    assert!(s.event_members(1).await.expect("members").is_empty());
    assert_eq!(
        s.event_roots("weibo", &["jan"])
            .await
            .expect("roots")
            .get("jan"),
        Some(&1),
        "a later reply to a dropped root still finds its event"
    );

    // Nothing to drop a second time; a dropped document seen again is stored again, with
    // a higher seq.
    let again = s.drop_documents_before(cut).await.expect("again");
    assert_eq!(again, yuqing_store::Retention::default());
    let max = s.max_seq().await.expect("max");
    let re = s
        .insert(&[doc("jan", at(3, 20))], None)
        .await
        .expect("insert again");
    assert_eq!(re.len(), 1);
    assert!(re[0].seq > max);
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
