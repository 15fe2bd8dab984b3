//! The conformance suite: behaviour every [`Store`] implementation must have.
//!
//! Each backend's integration test calls [`run_all`] with a fresh, empty store per case.
//! The suite panics (with a message naming the case) on the first violation, like a test.

use crate::{Checkpoint, DeadLetter, NewDocument, PollOutcome, Store};
use chrono::{TimeZone, Utc};
use serde_json::json;
use std::future::Future;
use yuqing_core::{Document, Kind};

/// A document with the given id, text and published time (seconds after a fixed epoch).
pub fn new_doc(id: &str, text: &str, t: i64) -> NewDocument {
    let mut d = Document::new("weibo", id);
    d.text = text.to_owned();
    d.kind = Kind::Post;
    d.published_at = Some(
        yuqing_core::document::beijing()
            .timestamp_opt(1_400_000_000 + t, 0)
            .single()
            .expect("time"),
    );
    d.source = Some("test".into());
    NewDocument {
        id: id.to_owned(),
        doc: d,
        url_canonical: None,
        site: None,
        content_key: None,
        simhash: None,
        group_id: None,
        group_joined: false,
        ingested_at: Utc::now(),
    }
}

/// Runs every case, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    insert_is_idempotent(make().await).await;
    canonical_url_is_an_identity(make().await).await;
    checkpoint_commits_with_documents(make().await).await;
    documents_round_trip(make().await).await;
    reads_by_seq_and_scan(make().await).await;
    groups_and_fingerprints(make().await).await;
    dead_letters_are_kept(make().await).await;
    source_health_is_tracked(make().await).await;
    roots_are_resolved(make().await).await;
}

pub async fn insert_is_idempotent<S: Store>(s: S) {
    let docs = vec![
        new_doc("a", "一", 1),
        new_doc("b", "二", 2),
        new_doc("a", "一again", 3),
    ];
    let ins = s.insert(&docs, None).await.expect("insert");
    assert_eq!(
        ins.len(),
        2,
        "insert_is_idempotent: a repeated id inside one batch is stored once"
    );
    assert!(
        ins[0].seq < ins[1].seq,
        "insert_is_idempotent: seqs increase"
    );
    let again = s.insert(&docs, None).await.expect("insert again");
    assert!(
        again.is_empty(),
        "insert_is_idempotent: re-inserting stores nothing"
    );
    assert_eq!(s.count().await.expect("count"), 2);
    let existing = s
        .existing_ids("weibo", &["a", "b", "c"])
        .await
        .expect("existing");
    assert!(existing.contains("a") && existing.contains("b") && !existing.contains("c"));
    assert!(
        s.existing_ids("wechat", &["a"])
            .await
            .expect("existing")
            .is_empty(),
        "identity includes platform"
    );
}

pub async fn canonical_url_is_an_identity<S: Store>(s: S) {
    let mut a = new_doc("x1", "文章", 1);
    a.url_canonical = Some("https://news.example.com/a".into());
    let mut b = new_doc("x2", "文章 again", 2);
    b.url_canonical = Some("https://news.example.com/a".into());
    assert_eq!(s.insert(&[a], None).await.expect("insert").len(), 1);
    assert_eq!(
        s.insert(&[b], None).await.expect("insert").len(),
        0,
        "same canonical URL is the same document"
    );
    let e = s
        .existing_urls(&["https://news.example.com/a", "https://news.example.com/b"])
        .await
        .expect("urls");
    assert_eq!(e.len(), 1);
}

pub async fn checkpoint_commits_with_documents<S: Store>(s: S) {
    assert!(s.checkpoint("feed").await.expect("cp").is_none());
    let cp = Checkpoint {
        source: "feed".into(),
        cursor: json!({"etag": "v1", "offset": 10}),
    };
    s.insert(&[new_doc("c1", "x", 1)], Some(&cp))
        .await
        .expect("insert");
    assert_eq!(
        s.checkpoint("feed").await.expect("cp"),
        Some(json!({"etag": "v1", "offset": 10}))
    );
    // A checkpoint with no documents still moves.
    let cp2 = Checkpoint {
        source: "feed".into(),
        cursor: json!({"etag": "v2"}),
    };
    s.insert(&[], Some(&cp2)).await.expect("insert");
    assert_eq!(
        s.checkpoint("feed").await.expect("cp"),
        Some(json!({"etag": "v2"}))
    );
}

pub async fn documents_round_trip<S: Store>(s: S) {
    let line = r#"{"id":"yBmepBtUB","kind":"post","event_id":"0_yBmepBtUB_2279086572","parent_id":null,"text":"人间惨剧[泪]","published_at":"2012-09-11T11:34:22+08:00","author":{"id":"2279086572","verified":false,"verified_type":-1,"followers":227833,"location":"上海","gender":"f","odd":1},"metrics":{"reposts":225,"comments":55,"likes":0},"platform":"weibo","rumor":true,"empty_text":false,"extra":{"source":"微博 weibo.com","pics":1}}"#;
    let d: Document = serde_json::from_str(line).expect("parse");
    let mut n = new_doc("yBmepBtUB", "", 0);
    n.doc = d.clone();
    s.insert(&[n], None).await.expect("insert");
    let got = s
        .get("weibo", "yBmepBtUB")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        got.doc, d,
        "documents_round_trip: every field, known or not, comes back"
    );
    assert_eq!(
        got.doc.published_at.expect("time").to_rfc3339(),
        "2012-09-11T11:34:22+08:00"
    );
}

pub async fn reads_by_seq_and_scan<S: Store>(s: S) {
    let docs: Vec<_> = (0..25)
        .map(|i| new_doc(&format!("d{i}"), &format!("文本{i}"), i))
        .collect();
    let ins = s.insert(&docs, None).await.expect("insert");
    let seqs: Vec<i64> = ins.iter().map(|i| i.seq).rev().take(3).collect();
    let got = s.by_seqs(&seqs).await.expect("by_seqs");
    assert_eq!(
        got.iter().map(|d| d.seq).collect::<Vec<_>>(),
        seqs,
        "by_seqs keeps the order asked"
    );
    let first = s.scan(0, 10).await.expect("scan");
    assert_eq!(first.len(), 10);
    let rest = s.scan(first[9].seq, 100).await.expect("scan");
    assert_eq!(rest.len(), 15);
    assert_eq!(s.max_seq().await.expect("max"), rest[14].seq);
}

pub async fn groups_and_fingerprints<S: Store>(s: S) {
    let mut a = new_doc("g1", "同一篇文章", 100);
    a.content_key = Some(42);
    a.simhash = Some(-7);
    a.group_id = Some(9);
    a.site = Some("a.example".into());
    let mut b = new_doc("g2", "同一篇文章", 50);
    b.content_key = Some(42);
    b.group_id = Some(9);
    b.group_joined = true;
    b.site = Some("b.example".into());
    let mut c = new_doc("g3", "同一篇文章", 200);
    c.group_id = Some(9);
    c.group_joined = true;
    c.site = Some("b.example".into());
    let ins = s.insert(&[a, b, c], None).await.expect("insert");
    let st = s
        .group_stats(9)
        .await
        .expect("stats")
        .expect("group exists");
    assert_eq!(st.members, 3);
    assert_eq!(st.sites, 2);
    assert_eq!(
        st.first_seq, ins[1].seq,
        "first publisher is the earliest published, not the first stored"
    );
    assert!(s.group_stats(10).await.expect("stats").is_none());
    let fp = s.fingerprints(0, 10).await.expect("fp");
    assert_eq!(fp.len(), 3);
    assert_eq!(
        (
            fp[0].content_key,
            fp[0].simhash,
            fp[0].group_id,
            fp[0].joined
        ),
        (Some(42), Some(-7), Some(9), false)
    );
    assert!(fp[1].joined);
}

pub async fn dead_letters_are_kept<S: Store>(s: S) {
    let l = DeadLetter {
        source: "import".into(),
        location: "a.jsonl:3".into(),
        reason: "bad json".into(),
        payload: "{".into(),
    };
    s.put_dead_letters(&[l.clone(), l])
        .await
        .expect("dead letters");
    let got = s.dead_letters(10).await.expect("list");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].letter.location, "a.jsonl:3");
}

pub async fn source_health_is_tracked<S: Store>(s: S) {
    let t = Utc::now();
    s.record_poll(
        "feed",
        &PollOutcome::Failure {
            at: t,
            error: "timeout".into(),
        },
    )
    .await
    .expect("poll");
    s.record_poll(
        "feed",
        &PollOutcome::Failure {
            at: t,
            error: "500".into(),
        },
    )
    .await
    .expect("poll");
    let h = s.source_health().await.expect("health");
    assert_eq!(
        (
            h[0].consecutive_failures,
            h[0].failures,
            h[0].last_error.as_deref()
        ),
        (2, 2, Some("500"))
    );
    let mut d = new_doc("h1", "x", 1);
    d.doc.source = Some("feed".into());
    s.insert(&[d], None).await.expect("insert");
    s.record_poll(
        "feed",
        &PollOutcome::Success {
            at: t,
            documents: 1,
            newest: None,
        },
    )
    .await
    .expect("poll");
    let h = s.source_health().await.expect("health");
    assert_eq!(h[0].consecutive_failures, 0);
    assert_eq!(h[0].documents, 1);
    assert_eq!(h[0].documents_last_hour, 1);
    assert!(h[0].last_success_at.is_some() && h[0].last_published_at.is_some());
}

pub async fn roots_are_resolved<S: Store>(s: S) {
    let a = new_doc("r0", "原帖", 1);
    let mut b = new_doc("r1", "转发", 2);
    b.doc.parent_id = Some("r0".into());
    b.doc.root_id = Some("r0".into());
    s.insert(&[a, b], None).await.expect("insert");
    let roots = s.roots("weibo", &["r0", "r1", "r9"]).await.expect("roots");
    assert_eq!(roots.get("r0").map(String::as_str), Some("r0"));
    assert_eq!(roots.get("r1").map(String::as_str), Some("r0"));
    assert!(!roots.contains_key("r9"));
}
