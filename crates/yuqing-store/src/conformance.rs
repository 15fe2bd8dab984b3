//! The conformance suite: behaviour every [`Store`] implementation must have.
//!
//! Each backend's integration test calls [`run_all`] with a fresh, empty store per case.
//! The suite panics (with a message naming the case) on the first violation, like a test.

pub mod access;
pub mod handling;
pub mod reports;
pub mod stats;

use crate::{
    Checkpoint, DeadLetter, EventLink, EventQuery, Fix, LevelRecord, NewDocument, NewPlan,
    PollOutcome, Retention, Store,
};
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
        assessment: Default::default(),
        plan_hits: Vec::new(),
        mainstream: None,
        event: None,
        encoded: None,
    }
}

/// [`new_doc`] in event `event` (founding it when `founds`).
pub fn event_doc(id: &str, text: &str, t: i64, event: i64, founds: bool) -> NewDocument {
    let mut n = new_doc(id, text, t);
    n.event = Some(EventLink {
        event_id: event,
        founds,
        root_key: founds.then(|| id.to_owned()),
        original: founds,
        critical: None,
        verify: false,
    });
    n
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
    events_keep_counters(make().await).await;
    levels_are_recorded(make().await).await;
    grading_marks_only_rise(make().await).await;
    plans_are_managed(make().await).await;
    plan_hits_are_kept(make().await).await;
    corrections_win(make().await).await;
    event_ids_are_unique_under_two_writers(make().await).await;
    root_claims_have_one_winner(make().await).await;
    settled_writers_share_roots_and_reprints(make().await).await;
    replies_before_their_parent_are_adopted(make().await).await;
    the_rules_never_lower_a_level(make().await).await;
}

/// `n` as a document that asks the store to settle its group and event (a writer among
/// several; `EventLink::verify`).
pub fn verified(mut n: NewDocument) -> NewDocument {
    if let Some(l) = n.event.as_mut() {
        l.verify = true;
    }
    n
}

/// A reply `id` to `parent` whose chain root the writer took to be `root`, put by the
/// writer in event `event` (founding it, under `root`, when `founds`).
pub fn reply_doc(id: &str, parent: &str, root: &str, event: i64, founds: bool) -> NewDocument {
    let mut n = event_doc(id, "转发", 10, event, founds);
    n.doc.kind = Kind::Repost;
    n.doc.parent_id = Some(parent.into());
    n.doc.root_id = Some(root.into());
    let l = n.event.as_mut().expect("link");
    l.original = false;
    l.root_key = founds.then(|| root.to_owned());
    n
}

/// Two writers allocating event and group ids at the same time never get the same id,
/// and new ids are above those in use.
pub async fn event_ids_are_unique_under_two_writers<S: Store>(s: S) {
    s.insert(&[event_doc("p1", "帖子", 1, 7, true)], None)
        .await
        .expect("insert");
    let writer = |n: usize| {
        let s = &s;
        async move {
            let (mut events, mut groups) = (Vec::new(), Vec::new());
            for k in 0..20 {
                events.extend(s.allocate_event_ids(n + k % 3).await.expect("event ids"));
                groups.extend(s.allocate_group_ids(1).await.expect("group ids"));
            }
            (events, groups)
        }
    };
    let (a, b) = tokio::join!(writer(1), writer(2));
    for (what, mut all) in [
        ("event", [a.0, b.0].concat()),
        ("group", [a.1, b.1].concat()),
    ] {
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(
            all.len(),
            n,
            "event_ids_are_unique_under_two_writers: a {what} id was given out twice"
        );
    }
    let events = s.allocate_event_ids(3).await.expect("ids");
    assert_eq!(events.len(), 3);
    assert!(
        events.iter().all(|&e| e > 7),
        "new event ids are above 7: {events:?}"
    );
    assert!(events.windows(2).all(|w| w[0] < w[1]), "ascending");
    assert!(s.allocate_event_ids(0).await.expect("none").is_empty());
}

/// Two writers claiming the same new roots for different events at the same time: one
/// claim wins per root and both see the winner.
pub async fn root_claims_have_one_winner<S: Store>(s: S) {
    let (a, b) = tokio::join!(
        s.claim_event_roots("weibo", &[("p", 1), ("q", 1), ("r", 1)]),
        s.claim_event_roots("weibo", &[("r", 2), ("q", 2), ("p", 2)])
    );
    let (a, b) = (a.expect("claim a"), b.expect("claim b"));
    assert_eq!(a.len(), 3, "root_claims_have_one_winner: {a:?}");
    assert_eq!(
        a, b,
        "root_claims_have_one_winner: both writers see the winner"
    );
    assert!(a.values().all(|e| [1, 2].contains(e)));
    let again = s
        .claim_event_roots("weibo", &[("p", 3), ("s", 3)])
        .await
        .expect("claim");
    assert_eq!(again.get("p"), a.get("p"), "a claim never changes");
    assert_eq!(again.get("s"), Some(&3));
    let stored = s.event_roots("weibo", &["p", "s"]).await.expect("roots");
    assert_eq!(stored.get("p"), a.get("p"));
}

/// Two writers storing at the same time replies to the same new root, and copies of the
/// same text, each in an event of its own making: the store settles them into one event
/// (and one group), with counters that count every member.
pub async fn settled_writers_share_roots_and_reprints<S: Store>(s: S) {
    let text = "某市一小区发生火灾，消防部门已赶到现场处置，暂无人员伤亡报告。";
    let copy = |id: &str, event: i64, group: i64| {
        let mut n = verified(event_doc(id, text, 5, event, true));
        n.content_key = Some(4242);
        n.group_id = Some(group);
        n.simhash = Some(99);
        n
    };
    let batch_a = [
        verified(reply_doc("ra", "p", "p", 11, true)),
        copy("ca", 12, 101),
    ];
    let batch_b = [
        verified(reply_doc("rb", "p", "p", 21, true)),
        copy("cb", 22, 201),
    ];
    let (a, b) = tokio::join!(s.insert(&batch_a, None), s.insert(&batch_b, None));
    let (a, b) = (a.expect("writer a"), b.expect("writer b"));
    let ev = |ins: &[crate::Inserted], id: &str| {
        ins.iter()
            .find(|i| i.id == id)
            .map(|i| (i.event_id, i.group_id))
            .expect("stored")
    };
    let (ra, rb) = (ev(&a, "ra").0, ev(&b, "rb").0);
    assert_eq!(
        ra, rb,
        "settled_writers_share_roots_and_reprints: replies to one root share its event"
    );
    let (ca, cb) = (ev(&a, "ca"), ev(&b, "cb"));
    assert_eq!(ca, cb, "copies share their group and event");
    let stored: Vec<_> = ["ra", "rb", "ca", "cb"]
        .iter()
        .map(|id| futures_get(&s, id))
        .collect();
    let mut docs = Vec::new();
    for f in stored {
        docs.push(f.await);
    }
    assert_eq!(docs[0].event_id, ra, "the stored event is the reported one");
    assert_eq!(docs[1].event_id, ra);
    assert_eq!((docs[2].event_id, docs[2].group_id), ca);
    assert_eq!((docs[3].event_id, docs[3].group_id), ca);
    let rows = s
        .events(&EventQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("events");
    let total: i64 = rows.iter().map(|e| e.documents).sum();
    assert_eq!(total, 4, "every member counted once: {rows:?}");
    for e in &rows {
        let members = s.event_members(e.id).await.expect("members").len() as i64;
        assert_eq!(e.documents, members, "event {} counts its members", e.id);
    }
    // A later writer with a stale choice still lands in the settled event.
    let late = s
        .insert(&[verified(reply_doc("rc", "p", "p", 31, true))], None)
        .await
        .expect("late");
    assert_eq!(late[0].event_id, ra);
}

async fn futures_get<S: Store>(s: &S, id: &str) -> yuqing_core::StoredDocument {
    s.get("weibo", id).await.expect("get").expect("stored")
}

/// A reply stored before its parent (another writer had not stored the parent yet) is
/// first in an event of its own; when the parent arrives, that event is merged into the
/// parent's, with its counters, and left empty.
pub async fn replies_before_their_parent_are_adopted<S: Store>(s: S) {
    let mut post = verified(event_doc("P", "原帖：某地发生火灾", 1, 1, true));
    post.doc.metrics = Some(yuqing_core::Metrics {
        comments: Some(10),
        ..Default::default()
    });
    s.insert(&[post], None).await.expect("post");
    // g replies to c, which nobody has stored: its root is taken to be c.
    let mut g = verified(reply_doc("g", "c", "c", 2, true));
    g.doc.metrics = Some(yuqing_core::Metrics {
        comments: Some(3),
        ..Default::default()
    });
    g.assessment.sentiment = Some(-1);
    let stored = s.insert(&[g], None).await.expect("orphan");
    assert_eq!(stored[0].event_id, Some(2));
    // g2 replies to g (found in the store, so its root is c too).
    s.insert(&[verified(reply_doc("g2", "g", "c", 2, false))], None)
        .await
        .expect("orphan 2");
    // c is a root with an event and no document: an orphan root, as a writer loads them.
    assert_eq!(
        s.orphan_roots(10).await.expect("orphans"),
        vec![("weibo".to_owned(), "c".to_owned(), 2)]
    );
    assert!(
        s.orphan_roots(0).await.expect("orphans").is_empty(),
        "limit"
    );
    // Then c arrives, a reply to the post.
    let stored = s
        .insert(&[verified(reply_doc("c", "P", "P", 1, false))], None)
        .await
        .expect("parent");
    assert_eq!(stored[0].event_id, Some(1));
    assert!(
        s.orphan_roots(10).await.expect("orphans").is_empty(),
        "c is stored now"
    );
    for id in ["g", "g2", "c"] {
        let d = futures_get(&s, id).await;
        assert_eq!(
            d.event_id,
            Some(1),
            "replies_before_their_parent_are_adopted: {id} joins the post's event"
        );
        assert_eq!(d.doc.root_id.as_deref(), Some("P"), "{id}'s root");
    }
    let e = &s.events_by_id(&[1]).await.expect("event")[0];
    assert_eq!((e.documents, e.comments, e.negative), (4, 13, 1));
    assert_eq!(e.first_id.as_deref(), Some("P"));
    assert_eq!(e.merged_into, None);
    let gone = s.events_by_id(&[2]).await.expect("event");
    assert!(gone.iter().all(|e| e.documents == 0), "{gone:?}");
    assert_eq!(
        gone.iter().map(|e| e.merged_into).collect::<Vec<_>>(),
        vec![Some(1)],
        "the emptied event says where it went"
    );
    let listed = s
        .events(&EventQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(
        listed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![1],
        "the emptied event is not listed"
    );
    // A writer that still believes in event 2 lands in event 1.
    let late = s
        .insert(&[verified(reply_doc("g3", "g", "c", 2, false))], None)
        .await
        .expect("late");
    assert_eq!(late[0].event_id, Some(1));
    assert_eq!(s.event_roots("weibo", &["c"]).await.expect("roots")["c"], 1);
}

/// The rules raise a level and never lower it, even when a writer with older facts comes
/// second; a person may lower it.
pub async fn the_rules_never_lower_a_level<S: Store>(s: S) {
    s.insert(&[event_doc("p1", "帖子", 1, 1, true)], None)
        .await
        .expect("insert");
    let at = Utc.timestamp_opt(1_700_000_000, 0).single().expect("t");
    let record = |level: i64, by: Option<&str>| LevelRecord {
        level,
        rule: "comments".into(),
        reason: format!("原因{level}"),
        reason_en: format!("reason {level}"),
        at,
        by: by.map(str::to_owned),
    };
    s.set_level(1, &record(3, None)).await.expect("level");
    s.set_level(1, &record(2, None)).await.expect("level");
    let e = &s.events_by_id(&[1]).await.expect("event")[0];
    assert_eq!(
        e.level.as_ref().map(|l| l.level),
        Some(3),
        "the_rules_never_lower_a_level"
    );
    assert_eq!(s.level_history(1).await.expect("history").len(), 1);
    s.set_level(1, &record(2, Some("张三")))
        .await
        .expect("level");
    let e = &s.events_by_id(&[1]).await.expect("event")[0];
    assert_eq!(
        e.level.as_ref().map(|l| l.level),
        Some(2),
        "a person may lower it"
    );
}

pub async fn events_keep_counters<S: Store>(s: S) {
    assert_eq!(s.max_event_id().await.expect("max"), 0);
    let mut root = event_doc("p1", "原帖：某地发生火灾", 100, 7, true);
    root.doc.metrics = Some(yuqing_core::Metrics {
        comments: Some(120),
        views: Some(900),
        ..Default::default()
    });
    root.mainstream = Some("人民日报".into());
    let mut r1 = event_doc("r1", "转发", 200, 7, false);
    r1.doc.kind = Kind::Repost;
    r1.doc.parent_id = Some("p1".into());
    r1.assessment.sentiment = Some(-1);
    r1.event.as_mut().expect("link").critical = Some(3);
    // A repost dated before its post does not become the first publisher.
    let mut r2 = event_doc("r2", "", 50, 7, false);
    r2.doc.kind = Kind::Repost;
    r2.mainstream = Some("人民日报".into());
    s.insert(&[r2, root, r1], None).await.expect("insert");
    let e = &s.events_by_id(&[7]).await.expect("event")[0];
    assert_eq!(e.documents, 3, "events_keep_counters: documents");
    assert_eq!(e.originals, 1);
    assert_eq!((e.comments, e.views), (120, 900));
    assert_eq!(e.negative, 1);
    assert_eq!(
        e.first_id.as_deref(),
        Some("p1"),
        "first publisher is the original"
    );
    assert_eq!(e.title.as_deref(), Some("原帖：某地发生火灾"));
    assert_eq!(e.critical_category, Some(3));
    assert_eq!(e.critical_id.as_deref(), Some("r1"));
    assert_eq!(e.mainstream, vec!["人民日报".to_owned()]);
    assert_eq!(e.root_id, "p1");
    assert_eq!(s.max_event_id().await.expect("max"), 7);
    let roots = s.event_roots("weibo", &["p1", "zz"]).await.expect("roots");
    assert_eq!(roots.get("p1"), Some(&7));
    assert_eq!(roots.len(), 1);
    // Later members add to the counters; a duplicate adds nothing.
    let mut r3 = event_doc("r3", "又一个", 300, 7, false);
    r3.doc.metrics = Some(yuqing_core::Metrics {
        comments: Some(5),
        ..Default::default()
    });
    let dup = event_doc("r1", "转发", 200, 7, false);
    s.insert(&[r3, dup], None).await.expect("insert");
    let e = &s.events_by_id(&[7]).await.expect("event")[0];
    assert_eq!((e.documents, e.comments), (4, 125));
    assert_eq!(e.last_at.map(|t| t.timestamp()), Some(1_400_000_000 + 300));
    let members = s.event_members(7).await.expect("members");
    assert_eq!(members.len(), 4);
    assert_eq!(members[1].id, "p1");
    assert_eq!(members[1].comments, 120);
    // Listing: by level then size; empty events are not listed.
    let mut other = event_doc("q1", "另一件事", 10, 8, true);
    other.group_id = Some(55);
    s.insert(&[other], None).await.expect("insert");
    let all = s
        .events(&EventQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![7, 8]);
    let ge = s.group_events(&[55, 56]).await.expect("group events");
    assert_eq!(ge.get(&55), Some(&8));
    assert_eq!(ge.len(), 1);
}

/// A stored member leaves its event ungraded until the pipeline marks it; the mark never
/// goes down (two writers may mark out of order).
pub async fn grading_marks_only_rise<S: Store>(s: S) {
    s.insert(
        &[
            event_doc("p1", "帖子", 1, 1, true),
            event_doc("q1", "另一帖", 2, 2, true),
        ],
        None,
    )
    .await
    .expect("insert");
    let marks = |evs: Vec<crate::EventRow>| evs.iter().map(|e| e.graded_seq).collect::<Vec<_>>();
    assert_eq!(
        marks(s.events_by_id(&[1, 2]).await.expect("events")),
        vec![0, 0],
        "a new event is not graded yet"
    );
    s.mark_graded(&[1, 2], 2).await.expect("mark");
    s.mark_graded(&[1], 1).await.expect("mark");
    s.mark_graded(&[], 9).await.expect("mark nothing");
    assert_eq!(
        marks(s.events_by_id(&[1, 2]).await.expect("events")),
        vec![2, 2],
        "an older mark does not lower a newer one"
    );
    s.insert(&[event_doc("p2", "跟帖", 3, 1, false)], None)
        .await
        .expect("insert");
    let e = &s.events_by_id(&[1]).await.expect("events")[0];
    assert_eq!((e.documents, e.graded_seq), (2, 2), "a new member waits");
}

pub async fn levels_are_recorded<S: Store>(s: S) {
    s.insert(&[event_doc("p1", "帖子", 1, 1, true)], None)
        .await
        .expect("insert");
    let at = Utc.timestamp_opt(1_700_000_000, 0).single().expect("t");
    for (level, by) in [(1, None), (3, None), (2, Some("张三"))] {
        s.set_level(
            1,
            &LevelRecord {
                level,
                rule: "comments".into(),
                reason: format!("原因{level}"),
                reason_en: format!("reason {level}"),
                at,
                by: by.map(str::to_owned),
            },
        )
        .await
        .expect("level");
    }
    let e = &s.events_by_id(&[1]).await.expect("event")[0];
    let l = e.level.as_ref().expect("level");
    assert_eq!((l.level, l.by.as_deref()), (2, Some("张三")));
    assert_eq!(
        e.rules_level,
        Some(3),
        "a person's level leaves the rules' level"
    );
    s.set_rules_level(1, 2).await.expect("rules level");
    assert_eq!(
        s.events_by_id(&[1]).await.expect("event")[0].rules_level,
        Some(3),
        "the rules' level never goes down"
    );
    s.set_rules_level(1, 4).await.expect("rules level");
    let e = &s.events_by_id(&[1]).await.expect("event")[0];
    assert_eq!(
        (e.rules_level, e.level.as_ref().map(|l| l.level)),
        (Some(4), Some(2))
    );
    let h = s.level_history(1).await.expect("history");
    assert_eq!(h.iter().map(|l| l.level).collect::<Vec<_>>(), vec![1, 3, 2]);
    assert_eq!(h[0].reason, "原因1");
    let min3 = s
        .events(&EventQuery {
            min_level: Some(3),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("events");
    assert!(min3.is_empty(), "levels_are_recorded: min_level filters");
}

pub async fn plans_are_managed<S: Store>(s: S) {
    let v0 = s.plans_version().await.expect("version");
    let p = s
        .put_plan(&NewPlan {
            name: "学校".into(),
            expression: "学校+食堂".into(),
            structured: Some(json!({"subject": ["学校"]})),
            active: true,
            origin: "config".into(),
            by: None,
        })
        .await
        .expect("put");
    let v1 = s.plans_version().await.expect("version");
    assert_ne!(v0, v1, "plans_are_managed: version changes");
    // Same name: replaced, same id.
    let q = s
        .put_plan(&NewPlan {
            name: "学校".into(),
            expression: "学校+(食堂|宿舍)".into(),
            structured: None,
            active: true,
            origin: "api".into(),
            by: Some("admin".into()),
        })
        .await
        .expect("put");
    assert_eq!(q.id, p.id);
    assert_eq!(q.expression, "学校+(食堂|宿舍)");
    assert_eq!(q.created_at, p.created_at);
    assert!(
        s.set_plan_active(p.id, false, Some("admin"))
            .await
            .expect("off")
    );
    let all = s.plans().await.expect("plans");
    assert_eq!(all.len(), 1);
    assert!(!all[0].active);
    assert!(!s.set_plan_active(999, true, None).await.expect("missing"));
    assert!(s.delete_plan(p.id).await.expect("delete"));
    assert!(s.plans().await.expect("plans").is_empty());
    assert_ne!(s.plans_version().await.expect("version"), v1);
}

pub async fn plan_hits_are_kept<S: Store>(s: S) {
    let mut a = new_doc("a", "学校食堂", 0);
    a.plan_hits = vec![
        (1, vec!["学校".into(), "食堂".into()]),
        (2, vec!["食堂".into()]),
    ];
    let mut b = new_doc("b", "学校", 7200);
    b.plan_hits = vec![(1, vec!["学校".into()])];
    let ins = s
        .insert(&[a, b, new_doc("c", "无关", 0)], None)
        .await
        .expect("insert");
    let seqs: Vec<i64> = ins.iter().map(|i| i.seq).collect();
    let hits = s.plan_hits_of(&seqs).await.expect("hits");
    assert_eq!(
        hits.get(&seqs[0]),
        Some(&vec![
            (1, vec!["学校".to_owned(), "食堂".to_owned()]),
            (2, vec!["食堂".to_owned()])
        ])
    );
    assert_eq!(hits.get(&seqs[1]).map(Vec::len), Some(1));
    assert!(!hits.contains_key(&seqs[2]));
    assert_eq!(s.plan_hit_count(1).await.expect("count"), 2);
    assert_eq!(s.plan_hit_count(3).await.expect("count"), 0);
    let page = s.plan_hit_docs(1, i64::MAX, 1).await.expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].0.doc.id.as_deref(), Some("b"), "newest first");
    assert_eq!(page[0].1, vec!["学校".to_owned()]);
    let next = s.plan_hit_docs(1, page[0].0.seq, 10).await.expect("page");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].0.doc.id.as_deref(), Some("a"));
    let hourly = s.plan_hourly(1, 0).await.expect("hourly");
    assert_eq!(hourly.len(), 2, "plan_hits_are_kept: two hours");
    assert_eq!(hourly[1].0 - hourly[0].0, 2);
    assert!(hourly.iter().all(|h| h.1 == 1));
}

pub async fn corrections_win<S: Store>(s: S) {
    let mut a = event_doc("a", "这也太差了", 0, 1, true);
    a.assessment.sentiment = Some(-1);
    a.assessment.sentiment_score = Some(0.1);
    a.assessment.content_type = Some(3);
    let seq = s.insert(&[a], None).await.expect("insert")[0].seq;
    assert_eq!(s.events_by_id(&[1]).await.expect("e")[0].negative, 1);
    let c = s
        .correct(seq, Fix::Sentiment(1), "李四", Some("反讽"))
        .await
        .expect("correct")
        .expect("exists");
    assert_eq!(
        (c.old_value.as_deref(), c.new_value.as_str()),
        (Some("-1"), "1")
    );
    s.correct(seq, Fix::ContentType(1), "李四", None)
        .await
        .expect("correct");
    let d = s.get("weibo", "a").await.expect("get").expect("doc");
    assert_eq!(d.assessment.sentiment, Some(1), "corrections_win: value");
    assert_eq!(d.assessment.sentiment_score, Some(0.1), "model score kept");
    assert_eq!(d.assessment.content_type, Some(1));
    assert_eq!(d.assessment.corrected, 3);
    assert_eq!(d.event_id, Some(1));
    assert_eq!(
        s.events_by_id(&[1]).await.expect("e")[0].negative,
        0,
        "statistics follow the correction"
    );
    let list = s.corrections("sentiment").await.expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].1, "这也太差了");
    assert_eq!(list[0].0.by, "李四");
    assert!(
        s.correct(9999, Fix::Sentiment(0), "x", None)
            .await
            .expect("missing")
            .is_none()
    );
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

/// Retention, the same on every backend. `drop(cutoff)` is the backend's retention
/// (`SqliteStore::drop_documents_before`, `PgStore::drop_partitions_before`): it removes
/// the documents ingested before the first day of `cutoff`'s month (the first of March at
/// midnight UTC stays), with their plan hits and identities, so the same document seen
/// again is stored again, with a higher seq; events keep their counters and root mappings;
/// a second run removes nothing. Returns what the first run removed, for the backend's own
/// checks (PostgreSQL: which partitions). Inserts three documents, ingested in January,
/// February and on the first of March 2026.
pub async fn retention_drops_and_keeps<S, F, Fut>(s: &S, drop: F) -> Retention
where
    S: Store,
    F: Fn(chrono::NaiveDate) -> Fut,
    Fut: Future<Output = crate::Result<Retention>>,
{
    let at = |m: u32, d: u32, h: u32| {
        Utc.with_ymd_and_hms(2026, m, d, h, 0, 0)
            .single()
            .expect("time")
    };
    let doc = |id: &str, ingested| {
        let mut d = new_doc(id, &format!("文本 {id}"), 0);
        d.ingested_at = ingested;
        d.plan_hits = vec![(1, vec!["文本".into()])];
        d.url_canonical = Some(format!("https://example.com/{id}"));
        d
    };
    let link = |founds: bool| EventLink {
        event_id: 1,
        founds,
        root_key: founds.then(|| "jan".to_owned()),
        original: founds,
        critical: None,
        verify: false,
    };
    let mut jan = doc("jan", at(1, 15, 12));
    jan.event = Some(link(true));
    let mut feb = doc("feb", at(2, 1, 12));
    feb.event = Some(link(false));
    let mar = doc("mar", at(3, 1, 0));
    let ins = s.insert(&[jan, feb, mar], None).await.expect("insert");
    assert_eq!(ins.len(), 3);
    assert_eq!(s.plan_hit_count(1).await.expect("hits"), 3);
    let first_before = s.first_seq().await.expect("first");

    let cut = chrono::NaiveDate::from_ymd_opt(2026, 3, 10).expect("date");
    let r = drop(cut).await.expect("retention");
    assert_eq!(r.documents, 2, "January and February go, March stays");
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

    let again = drop(cut).await.expect("again");
    assert_eq!(again, Retention::default(), "nothing to drop a second time");
    let max = s.max_seq().await.expect("max");
    let re = s
        .insert(&[doc("jan", at(3, 20, 12))], None)
        .await
        .expect("insert again");
    assert_eq!(re.len(), 1, "a dropped document seen again is stored again");
    assert!(re[0].seq > max, "seqs keep rising after retention");
    r
}
