//! Conformance of [`HandlingStore`] implementations: audit chaining in the same
//! transaction, case version checks, one alert per event and level, the outbox contract.

use crate::handling::*;
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use std::future::Future;
use yuqing_workflow::audit::{NewEntry, verify};
use yuqing_workflow::case::{Actor, Case, CaseSource, ManualChannel, Registration};
use yuqing_workflow::org::{Grant, Org, Role, Unit, UnitKind, User};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0)
        .single()
        .expect("time")
}

fn entry(action: &str, target: &str) -> NewEntry {
    NewEntry {
        at: t0(),
        actor: "admin".into(),
        action: action.into(),
        target: target.into(),
        before: None,
        after: Some(json!({ "n": 1.5, "名": "值" })),
    }
}

/// A county with one department, an analyst and a liaison.
pub fn sample_org() -> (Vec<Unit>, Vec<User>) {
    let units = vec![
        Unit {
            id: "county".into(),
            name: "某县".into(),
            kind: UnitKind::Organisation,
            parent: None,
        },
        Unit {
            id: "edu".into(),
            name: "教育局".into(),
            kind: UnitKind::Department,
            parent: Some("county".into()),
        },
    ];
    let users = vec![
        User {
            id: "ana".into(),
            name: "分析员".into(),
            grants: vec![Grant {
                unit: "county".into(),
                role: Role::Analyst,
            }],
            mobile: None,
            email: None,
            feishu: None,
        },
        User {
            id: "li".into(),
            name: "信息员".into(),
            grants: vec![Grant {
                unit: "edu".into(),
                role: Role::Liaison,
            }],
            mobile: None,
            email: None,
            feishu: None,
        },
    ];
    (units, users)
}

/// Runs every handling case, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: HandlingStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    org_round_trips(make().await).await;
    org_is_read_as_one_snapshot(make().await).await;
    point_adjustments_are_kept_and_revoked(make().await).await;
    audit_is_chained(make().await).await;
    cases_check_versions(make().await).await;
    one_alert_per_event_and_level(make().await).await;
    outbox_keeps_order_and_identity(make().await).await;
    duty_and_reminders(make().await).await;
}

pub async fn org_round_trips<S: HandlingStore>(s: S) {
    let (units, users) = sample_org();
    s.put_org(&units, &users, vec![entry("org.update", "org")])
        .await
        .expect("put org");
    let (u2, p2) = s.org().await.expect("org");
    assert_eq!(u2, units, "org_round_trips: units");
    assert_eq!(p2, users, "org_round_trips: users");
    let mut renamed = units[1].clone();
    renamed.name = "县教育局".into();
    s.put_org(&[renamed.clone()], &[], vec![])
        .await
        .expect("rename");
    let (u3, _) = s.org().await.expect("org");
    assert_eq!(u3.len(), 2, "org_round_trips: replace, not add");
    assert!(u3.contains(&renamed), "org_round_trips: renamed");
}

/// While units are added, each with a user granted on it, in one `put_org` each, every
/// `org()` read has the unit of every grant it returns.
pub async fn org_is_read_as_one_snapshot<S: HandlingStore>(s: S) {
    let (units, users) = sample_org();
    s.put_org(&units, &users, vec![]).await.expect("put org");
    let done = std::sync::atomic::AtomicBool::new(false);
    let write = async {
        for i in 0..60 {
            let unit = Unit {
                id: format!("town{i:02}"),
                name: format!("镇{i}"),
                kind: UnitKind::Organisation,
                parent: Some("county".into()),
            };
            let user = User {
                id: format!("ana{i:02}"),
                name: format!("监测员{i}"),
                grants: vec![Grant {
                    unit: unit.id.clone(),
                    role: Role::Analyst,
                }],
                mobile: None,
                email: None,
                feishu: None,
            };
            s.put_org(&[unit], &[user], vec![]).await.expect("put");
            tokio::task::yield_now().await;
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let read = async {
        let mut reads = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let (units, users) = s.org().await.expect("org");
            for u in &users {
                for g in &u.grants {
                    assert!(
                        units.iter().any(|x| x.id == g.unit),
                        "org_is_read_as_one_snapshot: read {reads}: {} holds a role on {}, \
                         which the same read does not have",
                        u.id,
                        g.unit
                    );
                }
            }
            reads += 1;
            tokio::task::yield_now().await;
        }
        reads
    };
    let ((), reads) = tokio::join!(write, read);
    assert!(reads > 0);
    let (units, users) = s.org().await.expect("org");
    assert_eq!((units.len(), users.len()), (62, 62));
}

pub async fn point_adjustments_are_kept_and_revoked<S: HandlingStore>(s: S) {
    let t = |d: u32, h: u32| {
        Utc.with_ymd_and_hms(2026, 10, d, h, 0, 0)
            .single()
            .expect("t")
    };
    let new = |user: &str, points: i32, at| NewPointAdjustment {
        user: user.into(),
        points,
        reason: format!("{user} {points}"),
        case_id: (points > 0).then(|| "C-1".to_owned()),
        at,
        by: "leader".into(),
        created_at: t(31, 9),
    };
    let a = s
        .add_point_adjustment(&new("ana", 3, t(5, 10)))
        .await
        .expect("add");
    let b = s
        .add_point_adjustment(&new("li", -2, t(3, 8)))
        .await
        .expect("add");
    s.add_point_adjustment(&new("ana", 1, t(1, 0) - Duration::hours(1)))
        .await
        .expect("add, September");
    assert!(b.id != a.id && a.revoked_at.is_none());
    assert_eq!(
        (a.case_id.as_deref(), b.case_id.as_deref()),
        (Some("C-1"), None)
    );
    let october = s
        .point_adjustments(t(1, 0), t(31, 0) + Duration::days(1))
        .await
        .expect("list");
    assert_eq!(
        october.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![b.id, a.id],
        "point_adjustments: the period's, by time"
    );
    assert_eq!(october[1], a, "point_adjustments: round trip");
    let r = s
        .revoke_point_adjustment(a.id, "leader2", t(31, 10))
        .await
        .expect("revoke")
        .expect("found");
    assert_eq!(
        (r.revoked_at, r.revoked_by.as_deref()),
        (Some(t(31, 10)), Some("leader2"))
    );
    let again = s
        .revoke_point_adjustment(a.id, "leader3", t(31, 11))
        .await
        .expect("revoke again")
        .expect("found");
    assert_eq!(again, r, "point_adjustments: revoked once");
    assert_eq!(
        s.point_adjustment(a.id).await.expect("one"),
        Some(r.clone()),
        "point_adjustments: kept when revoked"
    );
    assert!(
        s.revoke_point_adjustment(9999, "x", t(31, 10))
            .await
            .expect("none")
            .is_none()
    );
    let audit = s.audit_of("user:ana").await.expect("audit");
    assert_eq!(
        audit.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["points.adjust", "points.adjust", "points.revoke"],
        "point_adjustments: audited"
    );
    assert_eq!(audit[0].after.as_ref().expect("after")["adjustment"], a.id);
}

pub async fn audit_is_chained<S: HandlingStore>(s: S) {
    let a = s
        .append_audit(vec![entry("x", "case:1"), entry("y", "case:2")])
        .await
        .expect("append");
    assert_eq!(a[0].seq, 1, "audit_is_chained: first seq");
    let b = s
        .append_audit(vec![entry("z", "case:1")])
        .await
        .expect("append");
    assert_eq!(
        b[0].prev_hash, a[1].hash,
        "audit_is_chained: chained across calls"
    );
    let all = s.audit(0, 0).await.expect("audit");
    assert_eq!(all.len(), 3);
    verify(&all).expect("audit_is_chained: the stored chain verifies (exact round trip)");
    assert_eq!(all[0].after, Some(json!({ "n": 1.5, "名": "值" })));
    let of1 = s.audit_of("case:1").await.expect("of");
    assert_eq!(
        of1.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 3],
        "audit_is_chained: by target"
    );
    assert_eq!(s.audit(2, 1).await.expect("page").len(), 1);
}

fn new_case(org: &Org, id: &str) -> Case {
    Case::register(
        Registration {
            id: id.into(),
            unit: "county".into(),
            source: CaseSource::Manual {
                channel: ManualChannel::Hotline,
            },
            title: "热线反映学校收费".into(),
            summary: String::new(),
            link: None,
            negative: true,
            media_report: false,
            occurred_at: None,
            collected_at: None,
        },
        &Actor::new("ana"),
        org,
        t0(),
    )
    .expect("register")
    .0
}

pub async fn cases_check_versions<S: HandlingStore>(s: S) {
    let (units, users) = sample_org();
    let org = Org::new(units, users).expect("org");
    assert_eq!(s.next_number("case:2026").await.expect("n"), 1);
    assert_eq!(s.next_number("case:2026").await.expect("n"), 2);
    assert_eq!(s.next_number("case:2027").await.expect("n"), 1);
    let c = new_case(&org, "2026-0001");
    assert!(
        s.create_case(
            &c,
            Some("doc:weibo:1"),
            vec![entry("register", "case:2026-0001")]
        )
        .await
        .expect("create")
    );
    assert!(
        !s.create_case(&c, None, vec![entry("register", "case:2026-0001")])
            .await
            .expect("create again"),
        "cases_check_versions: same id refused"
    );
    assert_eq!(
        s.audit(0, 0).await.expect("audit").len(),
        1,
        "cases_check_versions: a refused write leaves no audit entry"
    );
    let mut c2 = c.clone();
    c2.version = 2;
    c2.title = "改".into();
    assert!(
        s.update_case(&c2, 1, vec![entry("judge", "case:2026-0001")])
            .await
            .expect("update")
    );
    let mut stale = c.clone();
    stale.version = 2;
    assert!(
        !s.update_case(&stale, 1, vec![entry("judge", "case:2026-0001")])
            .await
            .expect("stale"),
        "cases_check_versions: a stale version is refused"
    );
    assert_eq!(s.case("2026-0001").await.expect("get"), Some(c2.clone()));
    assert_eq!(s.case("nope").await.expect("get"), None);
    let by_item = s
        .cases(&CaseQuery {
            item_key: Some("doc:weibo:1".into()),
            ..Default::default()
        })
        .await
        .expect("by item");
    assert_eq!(by_item.len(), 1);
    let other_unit = s
        .cases(&CaseQuery {
            units: Some(vec!["edu".into()]),
            ..Default::default()
        })
        .await
        .expect("by unit");
    assert!(other_unit.is_empty(), "cases_check_versions: unit filter");
    let open = s
        .cases(&CaseQuery {
            states: vec![c2.state.as_str().into()],
            ..Default::default()
        })
        .await
        .expect("by state");
    assert_eq!(open.len(), 1);
    assert_eq!(s.audit(0, 0).await.expect("audit").len(), 2);
}

fn alert(event: i64, level: i64, seq: i64, at: i64) -> NewAlert {
    NewAlert {
        event_id: event,
        level,
        rule: "major_any_plan".into(),
        plan: Some("校园".into()),
        seq,
        at: t0() + Duration::seconds(at),
        message: json!({ "title": format!("事件{event}") }),
        deliveries: vec![NewOutboxEntry {
            alert_id: String::new(),
            channel: "hook".into(),
            enqueued_at: t0(),
            next_at: t0(),
            body: json!({ "alert_id": "", "message": { "alert_id": "" } }),
        }],
    }
}

pub async fn one_alert_per_event_and_level<S: HandlingStore>(s: S) {
    let r = s
        .raise_alerts(
            &[alert(7, 3, 10, 0), alert(7, 3, 11, 1), alert(8, 3, 12, 2)],
            Some(("alerts", 12)),
        )
        .await
        .expect("raise");
    let (Raised::New(a), Raised::Updated(a2), Raised::New(b)) = (&r[0], &r[1], &r[2]) else {
        panic!("one_alert_per_event_and_level: got {r:?}");
    };
    assert_eq!(a, a2);
    assert_ne!(a, b);
    assert_eq!(s.cursor("alerts").await.expect("cursor"), Some(12));
    assert_eq!(s.cursor("other").await.expect("cursor"), None);
    let queued = s.outbox_of(&a.to_string()).await.expect("outbox");
    assert_eq!(
        queued.len(),
        1,
        "a new alert's delivery is queued with it (not the update's)"
    );
    assert_eq!(queued[0].body["alert_id"], a.to_string());
    assert_eq!(queued[0].body["message"]["alert_id"], a.to_string());
    assert_eq!(s.outbox_pending().await.expect("pending"), 2);
    let r = s
        .raise_alerts(&[alert(7, 4, 13, 3)], None)
        .await
        .expect("raise");
    assert!(
        matches!(r[0], Raised::New(_)),
        "one_alert_per_event_and_level: a level rise is a new alert"
    );
    let row = s.alert(*a).await.expect("get").expect("exists");
    assert_eq!((row.hits, row.first_seq, row.last_seq), (2, 10, 11));
    assert_eq!(row.message["title"], "事件7");
    let all = s.alerts(&AlertQuery::default()).await.expect("list");
    assert_eq!(all.len(), 3);
    assert!(all[0].raised_at >= all[2].raised_at, "newest first");
    // A time range: raised at or after `since`, before `until`.
    let (oldest, newest) = (all[2].raised_at, all[0].raised_at);
    assert!(
        oldest < newest,
        "the fixture's alerts are raised at different times"
    );
    let before_newest = s
        .alerts(&AlertQuery {
            until: Some(newest),
            ..Default::default()
        })
        .await
        .expect("until");
    assert!(
        !before_newest.is_empty() && before_newest.iter().all(|a| a.raised_at < newest),
        "until is exclusive"
    );
    let from_oldest_to_newest = s
        .alerts(&AlertQuery {
            since: Some(oldest),
            until: Some(newest),
            ..Default::default()
        })
        .await
        .expect("range");
    assert_eq!(from_oldest_to_newest.len(), before_newest.len());
    assert!(
        from_oldest_to_newest.iter().all(|a| a.raised_at >= oldest),
        "since is inclusive"
    );
    let acked = s
        .ack_alert(*a, "ana", t0() + Duration::minutes(5))
        .await
        .expect("ack")
        .expect("exists");
    assert_eq!(acked.acked_by.as_deref(), Some("ana"));
    let again = s
        .ack_alert(*a, "other", t0() + Duration::minutes(9))
        .await
        .expect("ack")
        .expect("exists");
    assert_eq!(
        again.acked_by.as_deref(),
        Some("ana"),
        "one_alert_per_event_and_level: the first acknowledgement stands"
    );
    let unacked = s
        .alerts(&AlertQuery {
            unacked: true,
            ..Default::default()
        })
        .await
        .expect("unacked");
    assert_eq!(unacked.len(), 2);
    assert!(s.ack_alert(999, "x", t0()).await.expect("ack").is_none());
    s.link_alert_case(*a, "2026-0001").await.expect("link");
    s.link_alert_case(*a, "2026-0002").await.expect("link");
    assert_eq!(
        s.alert(*a)
            .await
            .expect("get")
            .expect("row")
            .case_id
            .as_deref(),
        Some("2026-0001")
    );
    // Raise (3 new) + ack (1) in the audit log, chained.
    let audit = s.audit(0, 0).await.expect("audit");
    assert_eq!(audit.len(), 4);
    verify(&audit).expect("chain");
    assert!(audit.iter().any(|e| e.action == "alert.ack"));

    // A verdict: on an unacknowledged alert it acknowledges it too; a later one replaces
    // it; each is audited with what it replaced.
    let other = unacked[0].id;
    let verdict = |v, note: &str, by: &str, m| AlertVerdict {
        verdict: v,
        note: note.into(),
        by: by.into(),
        at: t0() + Duration::minutes(m),
    };
    let first = verdict(Verdict::FalseAlarm, "同名不同事", "ana", 20);
    let row = s
        .set_alert_verdict(other, &first)
        .await
        .expect("verdict")
        .expect("exists");
    assert_eq!(
        row.verdict.as_ref(),
        Some(&first),
        "alert verdicts round-trip"
    );
    assert_eq!(
        (row.acked_by.as_deref(), row.acked_at),
        (Some("ana"), Some(first.at)),
        "a verdict acknowledges"
    );
    let second = verdict(Verdict::Confirmed, "", "lead", 30);
    let row = s
        .set_alert_verdict(other, &second)
        .await
        .expect("verdict")
        .expect("exists");
    assert_eq!(row.verdict, Some(second));
    assert_eq!(row.acked_by.as_deref(), Some("ana"), "the first ack stands");
    assert_eq!(s.alert(other).await.expect("get").expect("row"), row);
    assert!(
        s.set_alert_verdict(999, &first)
            .await
            .expect("verdict")
            .is_none()
    );
    let audit = s.audit(0, 0).await.expect("audit");
    verify(&audit).expect("chain");
    let actions: Vec<&str> = audit[4..].iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["alert.ack", "alert.verdict", "alert.verdict"]);
    assert_eq!(
        audit[6].before,
        Some(json!({ "verdict": "false_alarm" })),
        "the replaced verdict is kept"
    );
    assert_eq!(s.alert(*a).await.expect("get").expect("row").verdict, None);
}

fn out(alert: &str, channel: &str, at: i64) -> NewOutboxEntry {
    NewOutboxEntry {
        alert_id: alert.into(),
        channel: channel.into(),
        enqueued_at: t0(),
        next_at: t0() + Duration::seconds(at),
        body: json!({ "alert_id": alert, "channel": channel }),
    }
}

pub async fn outbox_keeps_order_and_identity<S: HandlingStore>(s: S) {
    let ids = s
        .outbox_enqueue(&[
            out("1", "hook", 0),
            out("2", "hook", 0),
            out("1", "mail", 60),
        ])
        .await
        .expect("enqueue");
    assert_eq!(ids.len(), 3);
    let again = s
        .outbox_enqueue(&[out("1", "hook", 0)])
        .await
        .expect("again");
    assert_eq!(
        again[0], ids[0],
        "outbox: same (alert, channel) is the same entry"
    );
    assert_eq!(s.outbox_pending().await.expect("pending"), 3);
    let heads = s
        .outbox_heads(t0() + Duration::seconds(60))
        .await
        .expect("heads");
    assert_eq!(
        heads.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]],
        "outbox: the oldest undelivered entry of each channel"
    );
    assert_eq!(
        heads[0].body["id"], ids[0],
        "outbox: the body carries its id"
    );
    assert_eq!(heads[1].next_at, t0() + Duration::seconds(60));
    assert_eq!(
        s.outbox_heads(t0()).await.expect("heads").len(),
        1,
        "outbox: an entry held until later and never tried is not a head yet"
    );
    let mut h = heads[0].clone();
    h.attempts = 1;
    h.delivered_at = Some(t0() + Duration::seconds(1));
    h.body["delivered"] = json!(true);
    s.outbox_update(&h).await.expect("update");
    let heads = s
        .outbox_heads(t0() + Duration::seconds(60))
        .await
        .expect("heads");
    assert_eq!(
        heads.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![ids[1], ids[2]],
        "outbox: after delivery the next entry of the channel is the head"
    );
    let of1 = s.outbox_of("1").await.expect("of");
    assert_eq!(of1.len(), 2);
    assert_eq!(of1[0].body["delivered"], true);
    assert_eq!(s.outbox_pending().await.expect("pending"), 2);
    // (the alert below queues one more entry, under its own id "1")

    s.raise_alerts(&[alert(1, 2, 1, 0)], None)
        .await
        .expect("raise");
    let n = NoticeRow {
        alert_id: 1,
        step: 1,
        who: "li".into(),
        at: t0(),
    };
    s.record_notices(std::slice::from_ref(&n), &[out("notice:1:1", "hook", 0)])
        .await
        .expect("notice");
    s.record_notices(std::slice::from_ref(&n), &[out("notice:1:1", "hook", 0)])
        .await
        .expect("notice again");
    assert_eq!(s.notices(&[1, 2]).await.expect("notices"), vec![n]);
    assert_eq!(s.outbox_of("notice:1:1").await.expect("of").len(), 1);
    let audit = s.audit(0, 0).await.expect("audit");
    assert_eq!(
        audit.iter().filter(|e| e.action == "alert.notify").count(),
        1,
        "outbox: a repeated notice is audited once"
    );
}

pub async fn duty_and_reminders<S: HandlingStore>(s: S) {
    let slot = |user: &str, from: i64, to: i64, pos: i64| NewDutySlot {
        unit: "county".into(),
        user: user.into(),
        starts_at: t0() + Duration::hours(from),
        ends_at: t0() + Duration::hours(to),
        position: pos,
        note: String::new(),
    };
    let added = s
        .add_duty(
            &[
                slot("ana", 0, 8, 0),
                slot("li", 0, 8, 1),
                slot("ana", 8, 16, 0),
            ],
            vec![entry("duty.add", "duty")],
        )
        .await
        .expect("add");
    assert_eq!(added.len(), 3);
    let now = s
        .duty(
            t0() + Duration::hours(2),
            t0() + Duration::hours(2) + Duration::seconds(1),
        )
        .await
        .expect("duty");
    assert_eq!(
        now.iter()
            .map(|d| (d.user.as_str(), d.position))
            .collect::<Vec<_>>(),
        vec![("ana", 0), ("li", 1)],
        "duty: who is on at a moment, in order"
    );
    let at_end = s
        .duty(
            t0() + Duration::hours(8),
            t0() + Duration::hours(8) + Duration::seconds(1),
        )
        .await
        .expect("duty");
    assert_eq!(at_end.len(), 1, "duty: a slot's end is exclusive");
    assert!(s.remove_duty(added[1].id, vec![]).await.expect("rm"));
    assert!(!s.remove_duty(added[1].id, vec![]).await.expect("rm again"));

    let r = ReminderRow {
        key: "c1/report/1/urge".into(),
        case_id: "c1".into(),
        kind: "urge".into(),
        what: "report_upward".into(),
        due_at: t0(),
        unit: "county".into(),
        sent_at: t0(),
        message: json!({ "zh": "催办", "en": "urge" }),
    };
    let msg = format!("remind:{}", r.key);
    let new = s
        .record_reminders(
            &[r.clone(), r.clone()],
            vec![entry("remind", "case:c1"), entry("remind", "case:c1")],
            vec![
                vec![out(&msg, "hook", 0), out(&msg, "mail", 0)],
                vec![out(&msg, "other", 0)],
            ],
        )
        .await
        .expect("remind");
    assert_eq!(new, vec![r.clone()], "a repeated key is not new");
    let channels = |rows: Vec<OutboxRow>| {
        let mut c: Vec<String> = rows.into_iter().map(|o| o.channel).collect();
        c.sort();
        c
    };
    assert_eq!(
        channels(s.outbox_of(&msg).await.expect("outbox")),
        ["hook", "mail"],
        "the new reminder's messages are queued, the repeat's are not"
    );
    let again = s
        .record_reminders(
            std::slice::from_ref(&r),
            vec![entry("remind", "case:c1")],
            vec![vec![out(&msg, "late", 0)]],
        )
        .await
        .expect("again");
    assert!(again.is_empty());
    assert_eq!(channels(s.outbox_of(&msg).await.expect("outbox")).len(), 2);
    assert_eq!(
        s.audit(0, 0)
            .await
            .expect("audit")
            .iter()
            .filter(|e| e.action == "remind")
            .count(),
        1,
        "a reminder is audited once"
    );
    assert_eq!(s.reminder_keys().await.expect("keys").len(), 1);
    assert_eq!(s.reminders(Some("c1")).await.expect("of"), vec![r]);
    assert!(s.reminders(Some("c2")).await.expect("of").is_empty());
}
