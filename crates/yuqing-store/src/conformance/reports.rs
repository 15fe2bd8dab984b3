//! Conformance of [`ReportStore`] implementations: a report round-trips with its JSON as
//! given, a schedule key is made once, a digest's 期号 is taken once (also by digests made
//! at once), lists leave the model out, newest first.

use crate::reports::{NewReport, ReportStore};
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use std::future::Future;

fn report(kind: &str, title: &str, issue: Option<i64>, key: Option<&str>) -> NewReport {
    NewReport {
        kind: kind.into(),
        title: title.into(),
        subtitle: Some("副标题".into()),
        issue,
        inputs: json!({ "since": "2026-03-01", "名": [1, 2.5] }),
        model: json!({ "sections": [{ "title": "概述", "z": 1, "a": 2 }] }),
        created_at: Utc
            .with_ymd_and_hms(2026, 3, 2, 1, 0, 0)
            .single()
            .expect("time"),
        created_by: "ana".into(),
        unit: None,
        schedule_key: key.map(str::to_owned),
    }
}

/// Runs every report case, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: ReportStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    reports_round_trip_and_schedule_once(make().await).await;
    digests_made_at_once_never_share_an_issue(make().await).await;
}

/// Several digests asking for the same 期号 at once (each on its own connection of the
/// pool): exactly one is saved. Other kinds may carry any number.
pub async fn digests_made_at_once_never_share_an_issue<S: ReportStore>(s: S) {
    for round in 1..=3i64 {
        let r = report("digest", "专刊", Some(round), None);
        let (a, b, c, d) = tokio::join!(
            s.put_report(&r),
            s.put_report(&r),
            s.put_report(&r),
            s.put_report(&r)
        );
        let saved = [a, b, c, d]
            .into_iter()
            .map(|x| x.expect("put"))
            .filter(Option::is_some)
            .count();
        assert_eq!(saved, 1, "reports: 期号 {round} saved {saved} times");
    }
    for _ in 0..2 {
        s.put_report(&report("daily", "日报", Some(1), None))
            .await
            .expect("put")
            .expect("only digests' numbers are unique");
    }
    let digests = s.reports(Some("digest"), 0).await.expect("list");
    let mut issues: Vec<_> = digests.iter().map(|r| r.issue).collect();
    issues.sort();
    assert_eq!(issues, [Some(1), Some(2), Some(3)]);
}

pub async fn reports_round_trip_and_schedule_once<S: ReportStore>(s: S) {
    assert_eq!(s.last_digest_issue().await.expect("issue"), None);
    let daily = report("daily", "日报", None, Some("daily:2026-03-02"));
    let saved = s
        .put_report(&daily)
        .await
        .expect("put")
        .expect("new report");
    assert_eq!(saved.inputs, daily.inputs, "reports: inputs as given");
    assert_eq!(saved.model, daily.model, "reports: model as given");
    assert_eq!(
        (saved.created_at, saved.updated_at),
        (daily.created_at, daily.created_at)
    );
    assert!(
        s.put_report(&daily).await.expect("again").is_none(),
        "reports: a schedule key is made once"
    );
    assert_eq!(
        s.scheduled_report("daily:2026-03-02").await.expect("key"),
        Some(saved.id)
    );
    assert_eq!(
        s.scheduled_report("daily:2026-03-03").await.expect("key"),
        None
    );
    let d1 = s
        .put_report(&report("digest", "专刊", Some(3), None))
        .await
        .expect("put")
        .expect("new");
    s.put_report(&report("digest", "专刊", Some(4), None))
        .await
        .expect("put")
        .expect("reports without a key are all kept");
    assert_eq!(s.last_digest_issue().await.expect("issue"), Some(4));
    assert!(
        s.put_report(&report("digest", "专刊", Some(4), None))
            .await
            .expect("put")
            .is_none(),
        "reports: a digest's 期号 is taken once"
    );
    let all = s.reports(None, 0).await.expect("list");
    assert_eq!(all.len(), 3, "reports: 0 is no limit");
    assert!(all[0].id > all[1].id, "reports: newest first");
    assert!(
        all.iter().all(|r| r.model.is_null()),
        "lists leave the model out"
    );
    let digests = s.reports(Some("digest"), 1).await.expect("list");
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0].issue, Some(4));
    let at = daily.created_at + Duration::hours(1);
    let edited = s
        .update_report(d1.id, &json!({ "note": "改" }), &json!({ "v": 2 }), at)
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(
        (edited.model.clone(), edited.updated_at),
        (json!({ "v": 2 }), at)
    );
    assert_eq!(s.report(d1.id).await.expect("get"), Some(edited));
    assert_eq!(s.report(9_999).await.expect("get"), None);
    assert!(
        s.update_report(9_999, &json!({}), &json!({}), at)
            .await
            .expect("update")
            .is_none()
    );
}
