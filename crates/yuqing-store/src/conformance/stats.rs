//! Conformance of the statistics over a publication-time range (the dashboard) and of
//! `filter_seqs` (the search filters the index does not hold).

use super::{event_doc, new_doc};
use crate::{DocFilter, Fix, LevelRecord, SentimentCounts, Store};
use chrono::{TimeZone, Utc};
use std::future::Future;

/// Unix ms of `new_doc`'s time `t` (seconds after its fixed epoch).
fn ms(t: i64) -> i64 {
    (1_400_000_000 + t) * 1000
}

/// Runs every case, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    range_counts_agree(make().await).await;
    recent_texts_newest_first(make().await).await;
    filters_by_sentiment_level_plan_region(make().await).await;
    plan_period_counts_only_the_plans_documents(make().await).await;
}

/// `plan_period` counts only the documents the plan hit in `[since, until)`: hours,
/// sentiment, platforms and events agree with the documents inserted.
pub async fn plan_period_counts_only_the_plans_documents<S: Store>(s: S) {
    let mut docs = Vec::new();
    // (t, sentiment, platform, event, plan 1 hit, plan 2 hit)
    for (i, (t, sent, platform, event, p1, p2)) in [
        (0, Some(-1), "weibo", 1, true, false),
        (100, Some(0), "weibo", 1, true, true),
        (200, Some(-1), "news", 2, true, false),
        (300, Some(1), "weibo", 2, false, true),
        (4_000, None, "weibo", 2, true, false),
        (9_000, Some(-1), "weibo", 1, true, false), // outside the range
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = event_doc(
            &format!("p{i}"),
            &format!("文本{i}"),
            t,
            event,
            i < 3 && i != 1,
        );
        d.doc.platform = platform.to_owned();
        d.assessment.sentiment = sent;
        d.plan_hits = [(1, p1), (2, p2)]
            .into_iter()
            .filter(|x| x.1)
            .map(|x| (x.0, vec!["文本".to_owned()]))
            .collect();
        docs.push(d);
    }
    s.insert(&docs, None).await.expect("insert");
    let p = s
        .plan_period(1, ms(0), ms(9_000), 10)
        .await
        .expect("plan 1");
    assert_eq!(
        p.sentiment,
        SentimentCounts {
            positive: 0,
            neutral: 1,
            negative: 2,
            unjudged: 1
        },
        "plan_period: sentiment"
    );
    assert_eq!(
        p.hours.iter().map(|h| h.1).sum::<u64>(),
        4,
        "plan_period: hours"
    );
    assert_eq!(
        p.platforms,
        vec![("weibo".to_owned(), 3), ("news".to_owned(), 1)],
        "plan_period: platforms"
    );
    assert_eq!(
        p.events,
        vec![(1, 2), (2, 2)],
        "plan_period: events, ties by id"
    );
    assert_eq!(p.texts.len(), 4);
    assert!(
        p.texts[0].contains("文本4"),
        "plan_period: newest first: {:?}",
        p.texts
    );
    let p2 = s.plan_period(2, ms(0), ms(9_000), 1).await.expect("plan 2");
    assert_eq!(p2.sentiment.total(), 2);
    assert_eq!(p2.texts.len(), 1, "plan_period: at most `texts` texts");
    let none = s
        .plan_period(3, ms(0), ms(9_000), 10)
        .await
        .expect("plan 3");
    assert_eq!(none, crate::PlanPeriod::default());
}

/// Volume by hour, sentiment and platform counts cover `[since, until)` of publication
/// time, agree with each other, follow corrections and leave out undated documents.
pub async fn range_counts_agree<S: Store>(s: S) {
    let empty = s.sentiment_counts(0, i64::MAX).await.expect("empty");
    assert_eq!(
        empty,
        SentimentCounts::default(),
        "range_counts: empty store"
    );
    assert_eq!(s.latest_published().await.expect("latest"), None);
    // 1_400_000_000 is 16:53:20 UTC: hour boundaries at +400 s and +4000 s.
    let mut docs = Vec::new();
    for (i, (t, sent, platform)) in [
        (0, Some(1), "weibo"),
        (100, Some(-1), "weibo"),
        (500, Some(-1), "wechat"),
        (3_000, Some(0), "weibo"),
        (4_100, None, "news"),
        (9_000, Some(-1), "weibo"), // outside the range below
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = new_doc(&format!("d{i}"), "文本", t);
        d.doc.platform = platform.to_owned();
        d.assessment.sentiment = sent;
        docs.push(d);
    }
    let mut undated = new_doc("undated", "无时间", 0);
    undated.doc.published_at = None;
    docs.push(undated);
    let stored = s.insert(&docs, None).await.expect("insert");
    let (since, until) = (ms(0), ms(9_000));
    let hours = s.volume_by_hour(since, until).await.expect("hours");
    let h0 = ms(0) / 3_600_000;
    assert_eq!(
        hours,
        vec![(h0, 2), (h0 + 1, 2), (h0 + 2, 1)],
        "range_counts: by hour (until is exclusive)"
    );
    let sent = s.sentiment_counts(since, until).await.expect("sentiment");
    assert_eq!(
        sent,
        SentimentCounts {
            positive: 1,
            neutral: 1,
            negative: 2,
            unjudged: 1
        }
    );
    let platforms = s.platform_counts(since, until).await.expect("platforms");
    assert_eq!(
        platforms,
        vec![
            ("weibo".to_owned(), 3),
            ("news".to_owned(), 1),
            ("wechat".to_owned(), 1)
        ],
        "range_counts: most first, then by name"
    );
    let total: u64 = hours.iter().map(|h| h.1).sum();
    assert_eq!(total, sent.total());
    assert_eq!(total, platforms.iter().map(|p| p.1).sum::<u64>());
    // A correction moves the document to its new sentiment.
    let seq = stored
        .iter()
        .find(|x| x.id == "d1")
        .map(|x| x.seq)
        .expect("d1 stored");
    s.correct(seq, Fix::Sentiment(0), "张三", None)
        .await
        .expect("correct");
    let sent = s.sentiment_counts(since, until).await.expect("sentiment");
    assert_eq!(
        (sent.negative, sent.neutral),
        (1, 2),
        "range_counts: corrected"
    );
    assert_eq!(s.latest_published().await.expect("latest"), Some(ms(9_000)));
    assert!(
        s.volume_by_hour(until, since)
            .await
            .expect("inverted")
            .is_empty()
    );
}

pub async fn recent_texts_newest_first<S: Store>(s: S) {
    let mut a = new_doc("a", "最早", 0);
    a.doc.title = Some("标题".into());
    s.insert(
        &[a, new_doc("b", "中间", 60), new_doc("c", "最新", 120)],
        None,
    )
    .await
    .expect("insert");
    let t = s.recent_texts(ms(0), ms(1_000), 10).await.expect("texts");
    assert_eq!(t, vec!["最新", "中间", "标题 最早"], "recent_texts: order");
    let t = s.recent_texts(ms(0), ms(1_000), 1).await.expect("texts");
    assert_eq!(t, vec!["最新"], "recent_texts: limit");
    let t = s.recent_texts(ms(0), ms(120), 10).await.expect("texts");
    assert_eq!(t.len(), 2, "recent_texts: until is exclusive");
}

pub async fn filters_by_sentiment_level_plan_region<S: Store>(s: S) {
    let mut a = event_doc("a", "甲", 0, 1, true);
    a.assessment.sentiment = Some(-1);
    a.plan_hits = vec![(7, vec!["甲".into()])];
    a.doc.author = Some(yuqing_core::Author {
        location: Some("广东 深圳".into()),
        ..Default::default()
    });
    let mut b = event_doc("b", "乙", 10, 2, true);
    b.assessment.sentiment = Some(1);
    b.doc.author = Some(yuqing_core::Author {
        location: Some("北京".into()),
        ..Default::default()
    });
    let mut c = new_doc("c", "丙%", 20);
    c.assessment.sentiment = Some(-1);
    c.plan_hits = vec![(7, vec!["丙".into()])];
    let stored = s.insert(&[a, b, c], None).await.expect("insert");
    let seq = |id: &str| stored.iter().find(|x| x.id == id).expect("stored").seq;
    let at = Utc.timestamp_opt(1_700_000_000, 0).single().expect("t");
    s.set_level(
        1,
        &LevelRecord {
            level: 3,
            rule: "r".into(),
            reason: "原因".into(),
            reason_en: "reason".into(),
            at,
            by: None,
        },
    )
    .await
    .expect("level");
    let all = [seq("a"), seq("b"), seq("c"), 99_999];
    let keep = |f: DocFilter| {
        let s = &s;
        async move {
            s.filter_seqs(&all, &f)
                .await
                .expect("filter")
                .into_iter()
                .map(|x| x.0)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        keep(DocFilter::default()).await,
        vec![seq("a"), seq("b"), seq("c")],
        "filter: empty keeps every stored document"
    );
    let got = s
        .filter_seqs(&[seq("b")], &DocFilter::default())
        .await
        .expect("filter");
    assert_eq!(got, vec![(seq("b"), Some(ms(10)))], "filter: with the time");
    let neg = DocFilter {
        sentiments: vec![-1],
        ..Default::default()
    };
    assert_eq!(
        keep(neg).await,
        vec![seq("a"), seq("c")],
        "filter: sentiment"
    );
    let level = DocFilter {
        min_level: Some(2),
        ..Default::default()
    };
    assert_eq!(keep(level).await, vec![seq("a")], "filter: event level");
    let plan = DocFilter {
        plan_id: Some(7),
        sentiments: vec![-1, 0],
        ..Default::default()
    };
    assert_eq!(keep(plan).await, vec![seq("a"), seq("c")], "filter: plan");
    for (region, want) in [
        ("广东", vec![seq("a")]),
        ("广东 深圳", vec![seq("a")]),
        ("北京", vec![seq("b")]),
        ("%", vec![]),
        ("深圳", vec![]),
    ] {
        let f = DocFilter {
            region: Some(region.into()),
            ..Default::default()
        };
        assert_eq!(keep(f).await, want, "filter: region {region}");
    }
}
