//! The case service end to end on an in-memory SQLite store, with a `FixedClock` walked
//! through the day: registration and numbering, the whole workflow, deadlines and
//! reminders, statistics, scope, concurrency and audit tampering.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use yuqing_core::{Clock, Code, FixedClock};
use yuqing_handling::HandlingError;
use yuqing_handling::cases::{CaseFilter, Cases, NewCase, Origin, Principal};
use yuqing_handling::reports::{Inputs, Reports, Spec};
use yuqing_ingest::transforms::judge::Judge;
use yuqing_judge::grading::Level;
use yuqing_store::SqliteStore;
use yuqing_store::handling::NewDutySlot;
use yuqing_workflow::audit::TamperKind;
use yuqing_workflow::case::{
    Action, ActionKind, Case, CaseState, ManualChannel, Outcome, Recipient, ReplyChannel,
    ReplyDecision,
};
use yuqing_workflow::deadlines::{DeadlineKind, DeadlineRules, DeadlineStatus};
use yuqing_workflow::stats::Period;

const ORG: &str = r#"
[[units]]
id = "county"
name = "某县"
kind = "organisation"

[[units]]
id = "county-police"
name = "县公安局"
kind = "department"
parent = "county"

[[units]]
id = "town"
name = "某镇"
kind = "organisation"
parent = "county"

[[units]]
id = "town-edu"
name = "镇教育办"
kind = "department"
parent = "town"

[[units]]
id = "town-roads"
name = "镇交通办"
kind = "department"
parent = "town"

[[users]]
id = "admin"
name = "管理员"
grants = [{ unit = "county", role = "admin" }]

[[users]]
id = "county-leader"
name = "县领导"
grants = [{ unit = "county", role = "leader" }]

[[users]]
id = "police-liaison"
name = "公安信息员"
grants = [{ unit = "county-police", role = "liaison" }]

[[users]]
id = "leader"
name = "镇领导"
grants = [{ unit = "town", role = "leader" }]

[[users]]
id = "analyst"
name = "监测员甲"
grants = [{ unit = "town", role = "analyst" }]

[[users]]
id = "analyst2"
name = "监测员乙"
grants = [{ unit = "town", role = "analyst" }]

[[users]]
id = "spokes"
name = "发言人"
grants = [{ unit = "town", role = "spokesperson" }]

[[users]]
id = "edu-liaison"
name = "教育信息员"
grants = [{ unit = "town-edu", role = "liaison" }]

[[users]]
id = "roads-liaison"
name = "交通信息员"
grants = [{ unit = "town-roads", role = "liaison" }]
"#;

/// Monday 2027-03-01 09:00 Beijing time.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 1, 0, 0).unwrap()
}
fn mins(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

struct World {
    store: Arc<SqliteStore>,
    clock: Arc<FixedClock>,
    svc: Cases<SqliteStore>,
}

impl World {
    async fn new() -> World {
        let store = Arc::new(SqliteStore::in_memory().await.unwrap());
        let clock = Arc::new(FixedClock::new(t0()));
        let svc = Cases::new(
            store.clone(),
            clock.clone() as Arc<dyn Clock>,
            DeadlineRules::default(),
        );
        svc.import_org(ORG, &Principal::Operator).await.unwrap();
        World { store, clock, svc }
    }
    fn at(&self, minutes: i64) {
        self.clock.set(mins(minutes));
    }
    async fn register(&self, user: &str, negative: bool) -> Case {
        self.svc
            .register(
                NewCase {
                    unit: "town".into(),
                    source: Origin::Manual {
                        channel: ManualChannel::Hotline,
                    },
                    title: Some("学校门口道路积水".into()),
                    summary: "12345 热线反映".into(),
                    link: None,
                    negative,
                    media_report: false,
                    occurred_at: None,
                    collected_at: None,
                },
                user,
            )
            .await
            .unwrap()
    }
    async fn version(&self, id: &str) -> u64 {
        self.svc
            .case(id, &Principal::Operator)
            .await
            .unwrap()
            .version
    }
    async fn try_act(&self, id: &str, user: &str, kind: ActionKind) -> Result<Case, HandlingError> {
        let v = self.version(id).await;
        self.svc.apply(id, Action::new(v, kind), user).await
    }
    async fn act(&self, id: &str, user: &str, kind: ActionKind) -> Case {
        let name = kind.name();
        match self.try_act(id, user, kind).await {
            Ok(c) => c,
            Err(e) => panic!("{user} could not {name} case {id}: {e}"),
        }
    }
}

fn judge(level: Level) -> ActionKind {
    ActionKind::Judge {
        level,
        facts: "核实中".into(),
        negative: true,
        emergency: false,
    }
}
fn assign(lead: &str, due: Option<DateTime<Utc>>) -> ActionKind {
    ActionKind::Assign {
        lead: lead.into(),
        co: vec![],
        due_at: due,
        instruction: "请核实并答复".into(),
    }
}
fn handle() -> ActionKind {
    ActionKind::RecordHandling {
        outcome: Some(Outcome::True),
        actions: "已派人排水".into(),
    }
}
fn draft(text: &str) -> ActionKind {
    ActionKind::DraftReply { text: text.into() }
}
fn approve() -> ActionKind {
    ActionKind::ApproveReply {
        comment: String::new(),
    }
}
fn publish(text: &str) -> ActionKind {
    ActionKind::RecordReply {
        channel: ReplyChannel::MessageBoard,
        link: None,
        text: text.into(),
        spokesperson: None,
        mail_to: None,
    }
}
fn close() -> ActionKind {
    ActionKind::Close {
        summary: "已办结".into(),
    }
}

/// Registers a general item and walks it to closed, one step every `step` minutes from
/// minute `start`; returns the case id.
async fn closed_case(w: &World, start: i64, step: i64) -> String {
    let mut t = start;
    let mut tick = || {
        t += step;
        t
    };
    w.at(start);
    let id = w.register("analyst", false).await.id;
    w.at(tick());
    w.act(&id, "analyst", judge(Level::General)).await;
    w.at(tick());
    w.act(
        &id,
        "leader",
        assign("town-edu", Some(mins(start + 20 * 60))),
    )
    .await;
    w.at(tick());
    w.act(&id, "edu-liaison", handle()).await;
    w.at(tick());
    w.act(&id, "edu-liaison", draft("已排水，感谢监督")).await;
    w.at(tick());
    w.act(&id, "leader", approve()).await;
    w.at(tick());
    w.act(&id, "edu-liaison", publish("已排水，感谢监督")).await;
    w.at(tick());
    w.act(&id, "analyst", close()).await;
    id
}

fn code(r: Result<Case, HandlingError>) -> (Code, Option<&'static str>) {
    match r {
        Ok(c) => panic!("expected a refusal, case {} is now {}", c.id, c.state),
        Err(e) => (e.code(), e.reason()),
    }
}

#[tokio::test]
async fn a_general_item_assigned_and_answered_on_time() {
    let w = World::new().await;
    let id = w.register("analyst", false).await.id;
    assert_eq!(id, "2027-0001");
    // Nothing is due yet: the 2 h forwarding deadline's 催办 starts at 1 h 30.
    assert!(w.svc.tick(mins(20)).await.unwrap().is_empty());
    w.at(30);
    w.act(&id, "analyst", judge(Level::General)).await;
    w.at(60);
    w.act(&id, "leader", assign("town-edu", Some(mins(20 * 60))))
        .await;
    // Forwarded in time; the answer (1 d) and handling (20 h) deadlines are far off.
    assert!(w.svc.tick(mins(100)).await.unwrap().is_empty());
    w.at(90);
    w.act(&id, "edu-liaison", handle()).await;
    w.at(120);
    w.act(&id, "edu-liaison", draft("已排水，感谢监督")).await;
    w.at(150);
    w.act(&id, "leader", approve()).await;
    // Still open, but the handling deadline was met by the draft: no 催办 at 19 h 45.
    assert!(w.svc.tick(mins(19 * 60 + 45)).await.unwrap().is_empty());
    w.at(180);
    w.act(&id, "edu-liaison", publish("已排水，感谢监督")).await;
    w.at(210);
    let case = w.act(&id, "analyst", close()).await;
    assert_eq!((case.state, case.version), (CaseState::Closed, 8));
    for m in [23 * 60 + 45, 30 * 60, 3 * 24 * 60] {
        assert!(w.svc.tick(mins(m)).await.unwrap().is_empty(), "minute {m}");
    }
    w.at(2 * 24 * 60);
    let view = w.svc.timeline(&id, &Principal::Operator).await.unwrap();
    assert!(!view.supervised);
    assert!(view.reminders.is_empty());
    let kinds: Vec<_> = view.deadlines.iter().map(|d| d.what).collect();
    assert_eq!(
        kinds,
        [
            // Judged negative: the leading group had to know within 1 h (met by the
            // assignment at 1 h exactly).
            DeadlineKind::NotifyLeadingGroup,
            DeadlineKind::ForwardToDepartment,
            DeadlineKind::AnswerGeneral,
            DeadlineKind::Handling
        ]
    );
    assert!(
        view.deadlines
            .iter()
            .all(|d| d.status == DeadlineStatus::MetOnTime && !d.late)
    );
    // The provable times.
    assert_eq!(view.facts.first_collected, mins(0));
    assert_eq!(view.facts.first_registered, mins(0));
    assert_eq!(view.facts.first_assigned, Some(mins(60)));
    assert_eq!(view.facts.first_replied, Some(mins(180)));
    assert_eq!(view.facts.first_reported, None);
    // One audit entry per step, each built from the timeline.
    assert_eq!(view.audit.len(), 8);
    assert_eq!(view.audit[0].action, "register");
    assert_eq!(view.audit[0].target, "case:2027-0001");
    assert_eq!(view.audit[2].actor, "leader");
    assert_eq!(view.audit[2].after.as_ref().unwrap()["state"], "assigned");
    assert_eq!(view.audit[2].before.as_ref().unwrap()["state"], "judged");
    assert_eq!(
        view.audit[2].after.as_ref().unwrap()["detail"]["lead"],
        "town-edu"
    );

    let period = Period {
        from: mins(0),
        to: mins(24 * 60),
    };
    let s = w
        .svc
        .stats(&Principal::Operator, period, mins(2 * 24 * 60))
        .await
        .unwrap();
    let edu = s.departments.iter().find(|d| d.unit == "town-edu").unwrap();
    assert_eq!(
        (
            edu.assigned,
            edu.replied,
            edu.closed,
            edu.on_time,
            edu.overdue
        ),
        (1, 1, 1, 1, 0)
    );
    assert_eq!(edu.on_time_rate, Some(1.0));
    assert_eq!(edu.median_reply_secs, Some(2 * 3600));
    let m = s.monitors.iter().find(|m| m.user == "analyst").unwrap();
    assert_eq!((m.found, m.found_first, m.reported, m.late), (1, 1, 0, 0));

    // The year-end statistics report (年度统计) carries the same figures, by name.
    let clock = w.clock.clone() as Arc<dyn Clock>;
    // Weights of the office's own: a general item found first is worth 4.
    let weights = yuqing_workflow::PointRules {
        found_first: yuqing_workflow::points::LevelPoints {
            general: 4,
            ..Default::default()
        },
        ..Default::default()
    };
    // And the town's leader adds 2 for the item's handling (领导加减分).
    w.svc
        .adjust_points(
            yuqing_handling::cases::AdjustPoints {
                user: "analyst".into(),
                points: 2,
                reason: "处置及时".into(),
                case: None,
                at: None,
            },
            &Principal::user("leader"),
        )
        .await
        .unwrap();
    let reports = Reports::new(w.store.clone(), Judge::builtin(), clock.clone()).with_cases(
        Arc::new(Cases::new(w.store.clone(), clock, DeadlineRules::default()).with_points(weights)),
    );
    let y = reports
        .build(
            &Inputs::new(Spec::Yearly { year: 2027 }),
            &Principal::Operator,
        )
        .await
        .unwrap();
    use yuqing_report::Value as V;
    assert_eq!(y.figure("cases_registered"), Some(&V::Int(1)));
    assert_eq!(y.figure("cases_closed"), Some(&V::Int(1)));
    let row = y.table("departments").unwrap().rows[0].clone();
    assert_eq!(
        row[..6],
        [
            V::Text("镇教育办".into()),
            V::Int(1),
            V::Int(1),
            V::Int(1),
            V::Int(1),
            V::Int(0)
        ]
    );
    assert_eq!(row[8], V::Pct(1.0), "on-time rate");
    assert_eq!(row[10], V::Num(2.0), "median hours to reply");
    let monitor = y.table("monitors").unwrap().rows[0].clone();
    assert_eq!(
        monitor,
        [
            V::Text("监测员甲".into()),
            V::Int(1),
            V::Int(1),
            V::Int(0),
            V::Int(0),
            V::Int(0),
            V::Int(2),
            V::Int(6)
        ]
    );
    let said = format!("{y:?}");
    assert!(said.contains("一般 +4、较大 +2"), "the weights are stated");
    assert!(
        said.contains("另计领导加减分"),
        "and that adjustments count"
    );

    // The next case of the year gets the next number; the year is Beijing's.
    w.at(60 * 24);
    assert_eq!(w.register("analyst", false).await.id, "2027-0002");
    // 2027-12-31 16:30 UTC is already 2028-01-01 in Beijing.
    w.clock
        .set(Utc.with_ymd_and_hms(2027, 12, 31, 16, 30, 0).unwrap());
    assert_eq!(w.register("analyst", false).await.id, "2028-0001");
}

/// 《网络舆情通报》 of a month: the department that met its deadline is named as punctual,
/// the one that let it pass is listed with the overdue item (督办事项), by name.
#[tokio::test]
async fn a_circular_lists_the_overdue_items_by_department() {
    let w = World::new().await;
    // Edu: due in 2 h, drafted after 1 h (on time).
    w.at(0);
    let on_time = w.register("analyst", false).await.id;
    w.act(&on_time, "analyst", judge(Level::General)).await;
    w.act(&on_time, "leader", assign("town-edu", Some(mins(120))))
        .await;
    w.at(60);
    w.act(&on_time, "edu-liaison", handle()).await;
    w.act(&on_time, "edu-liaison", draft("已排水")).await;
    // Roads: due in 3 h, nothing done.
    w.at(10);
    let late = w.register("analyst", false).await.id;
    w.act(&late, "analyst", judge(Level::General)).await;
    w.act(&late, "leader", assign("town-roads", Some(mins(190))))
        .await;
    // Made two days later.
    w.at(2 * 24 * 60);
    let clock = w.clock.clone() as Arc<dyn Clock>;
    let reports = Reports::new(w.store.clone(), Judge::builtin(), clock.clone()).with_cases(
        Arc::new(Cases::new(w.store.clone(), clock, DeadlineRules::default())),
    );
    let c = reports
        .build(
            &Inputs::new(Spec::Circular {
                period: "2027-03".into(),
            }),
            &Principal::Operator,
        )
        .await
        .unwrap();
    use yuqing_report::Value as V;
    assert_eq!(c.title, "网络舆情通报");
    assert_eq!(c.subtitle.as_deref(), Some("2027年3月"));
    assert_eq!(
        c.sections
            .iter()
            .map(|s| s.title.as_str())
            .collect::<Vec<_>>(),
        ["总体情况", "各单位处置情况", "督办事项", "通报事项"]
    );
    assert_eq!(c.figure("cases_assigned"), Some(&V::Int(2)));
    assert_eq!(c.figure("overdue"), Some(&V::Int(1)));
    let depts = c.table("departments").unwrap();
    assert_eq!(
        depts
            .rows
            .iter()
            .map(|r| r[..6].to_vec())
            .collect::<Vec<_>>(),
        // By unit id: town-edu, town-roads.
        [
            [
                V::Text("镇教育办".into()),
                V::Int(1),
                V::Int(0),
                V::Int(0),
                V::Int(1),
                V::Int(0)
            ],
            [
                V::Text("镇交通办".into()),
                V::Int(1),
                V::Int(0),
                V::Int(0),
                V::Int(0),
                V::Int(1)
            ],
        ]
    );
    let overdue = c.table("overdue").unwrap();
    assert_eq!(overdue.rows.len(), 1, "{overdue:?}");
    assert_eq!(
        overdue.rows[0],
        [
            V::Text(late.clone()),
            V::Text("学校门口道路积水".into()),
            V::Text("镇交通办".into()),
            V::Text("2027年3月1日 12:10".into()),
            V::Text("逾期未办".into()),
            // 2 days − 190 minutes.
            V::Num(44.8),
        ]
    );
    let text = c
        .blocks()
        .find_map(|b| match b {
            yuqing_report::Block::Draft { key, text, .. } if key == "commentary" => Some(text),
            _ => None,
        })
        .unwrap();
    assert!(
        text.contains("按时办理全部交办事项的单位：镇教育办。")
            && text.contains("存在逾期事项的单位：镇交通办（逾期未办 1 件）。"),
        "{text}"
    );
    // A period that does not parse is a clear refusal.
    let e = reports
        .build(
            &Inputs::new(Spec::Circular {
                period: "2027-Q5".into(),
            }),
            &Principal::Operator,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput, "{e}");
    assert!(e.to_string().contains("2026-Q4"), "{e}");
}

#[tokio::test]
async fn a_major_item_reported_late_is_urged_then_supervised_once() {
    let w = World::new().await;
    w.at(0);
    let id = w.register("analyst", true).await.id;
    w.at(10);
    w.act(&id, "analyst", judge(Level::Major)).await;

    // Negative → tell the leading group within 1 h; major → report upward within 2 h.
    assert!(w.svc.tick(mins(25)).await.unwrap().is_empty());
    let r = w.svc.tick(mins(35)).await.unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].kind.as_str(), r[0].what.as_str()),
        ("urge", "notify_leading_group")
    );
    assert_eq!(r[0].due_at, mins(60));
    assert!(r[0].message["zh"].as_str().unwrap().starts_with("催办"));
    // Not repeated.
    assert!(w.svc.tick(mins(40)).await.unwrap().is_empty());
    let r = w.svc.tick(mins(65)).await.unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].kind.as_str(), r[0].what.as_str()),
        ("supervise", "notify_leading_group")
    );
    let r = w.svc.tick(mins(95)).await.unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].kind.as_str(), r[0].what.as_str()),
        ("urge", "report_upward")
    );
    let r = w.svc.tick(mins(130)).await.unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].kind.as_str(), r[0].what.as_str()),
        ("supervise", "report_upward")
    );
    assert!(w.svc.tick(mins(131)).await.unwrap().is_empty());

    // Reported at 2 h 30: late for both.
    w.at(150);
    w.act(
        &id,
        "analyst",
        ActionKind::ReportUp {
            recipient: Recipient::LeadingGroup,
            summary: "重大舆情".into(),
        },
    )
    .await;
    assert!(w.svc.tick(mins(180)).await.unwrap().is_empty());
    // Assigned with a deadline that is then missed.
    w.at(180);
    w.act(&id, "leader", assign("town-roads", Some(mins(24 * 60))))
        .await;
    let r = w.svc.tick(mins(24 * 60 - 10)).await.unwrap();
    assert_eq!(
        r.iter()
            .map(|r| (r.kind.as_str(), r.what.as_str()))
            .collect::<Vec<_>>(),
        [("urge", "handling")]
    );
    assert_eq!(r[0].unit, "town-roads");

    w.at(2 * 24 * 60);
    let view = w.svc.timeline(&id, &Principal::Operator).await.unwrap();
    assert!(view.supervised);
    assert_eq!(view.reminders.len(), 5);
    let late: Vec<_> = view
        .deadlines
        .iter()
        .filter(|d| d.late)
        .map(|d| (d.what, d.status))
        .collect();
    assert_eq!(
        late,
        [
            (DeadlineKind::NotifyLeadingGroup, DeadlineStatus::MetLate),
            (DeadlineKind::ReportUpward, DeadlineStatus::MetLate),
            (DeadlineKind::Handling, DeadlineStatus::Overdue),
        ]
    );
    assert_eq!(view.facts.first_reported, Some(mins(150)));
    // Reminders are audited as the system's.
    let reminds: Vec<_> = view
        .audit
        .iter()
        .filter(|e| e.action == "case.remind")
        .collect();
    assert_eq!(reminds.len(), 5);
    assert!(reminds.iter().all(|e| e.actor == "system"));

    let s = w
        .svc
        .stats(
            &Principal::Operator,
            Period {
                from: mins(0),
                to: mins(24 * 60),
            },
            mins(2 * 24 * 60),
        )
        .await
        .unwrap();
    let m = s.monitors.iter().find(|m| m.user == "analyst").unwrap();
    assert_eq!((m.found, m.reported, m.late), (1, 1, 1));
    let roads = s
        .departments
        .iter()
        .find(|d| d.unit == "town-roads")
        .unwrap();
    assert_eq!(
        (roads.assigned, roads.replied, roads.on_time, roads.overdue),
        (1, 0, 0, 1)
    );
    assert_eq!(roads.on_time_rate, Some(0.0));
}

#[tokio::test]
async fn a_reply_sent_back_then_approved_and_published() {
    let w = World::new().await;
    let id = w.register("analyst", false).await.id;
    w.at(5);
    w.act(&id, "analyst", judge(Level::General)).await;
    w.act(&id, "leader", assign("town-edu", None)).await;
    w.act(&id, "edu-liaison", handle()).await;
    w.at(10);
    w.act(&id, "edu-liaison", draft("第一稿")).await;
    // The drafter may never approve their own reply; nor may a liaison at all.
    let (c, reason) = code(w.try_act(&id, "edu-liaison", approve()).await);
    assert_eq!((c, reason), (Code::Forbidden, Some("self_approval")));
    let (c, reason) = code(w.try_act(&id, "roads-liaison", approve()).await);
    assert_eq!(c, Code::Forbidden, "{reason:?}");
    w.at(20);
    let back = w
        .act(
            &id,
            "leader",
            ActionKind::SendBack {
                reason: "口径不统一".into(),
            },
        )
        .await;
    assert_eq!(back.state, CaseState::Handling);
    w.at(30);
    w.act(&id, "edu-liaison", draft("第二稿：已排水")).await;
    w.act(&id, "spokes", approve()).await;
    // Only the approved wording may be published.
    let (c, reason) = code(w.try_act(&id, "spokes", publish("改过的稿")).await);
    assert_eq!(
        (c, reason),
        (Code::InvalidInput, Some("reply_text_mismatch"))
    );
    let done = w.act(&id, "spokes", publish("第二稿：已排水")).await;
    assert_eq!(done.state, CaseState::ReplyRecorded);
    assert_eq!(done.drafts.len(), 2);
    assert!(matches!(
        &done.drafts[0].decision,
        Some(ReplyDecision::SentBack { by, reason, .. }) if by == "leader" && reason == "口径不统一"
    ));
    assert!(matches!(
        &done.drafts[1].decision,
        Some(ReplyDecision::Approved { by, .. }) if by == "spokes"
    ));
    assert_eq!(done.replies[0].revision, 2);
    // Refusals left no trace in the log: 9 accepted steps, 9 audit entries.
    let view = w.svc.timeline(&id, &Principal::Operator).await.unwrap();
    assert_eq!(view.case.version, 9);
    assert_eq!(view.audit.len(), 9);
}

#[tokio::test]
async fn a_closed_case_is_reopened_and_closed_again() {
    let w = World::new().await;
    let id = closed_case(&w, 0, 10).await;
    let first = w.svc.case(&id, &Principal::Operator).await.unwrap();
    let first_closed = first.first_closed_at.unwrap();
    assert_eq!(first_closed, mins(70));
    w.at(24 * 60);
    // Only a leader reopens.
    let (c, reason) = code(
        w.try_act(
            &id,
            "analyst",
            ActionKind::Reopen {
                reason: "群众再次反映".into(),
            },
        )
        .await,
    );
    assert_eq!((c, reason), (Code::Forbidden, Some("role_not_permitted")));
    let c = w
        .act(
            &id,
            "leader",
            ActionKind::Reopen {
                reason: "群众再次反映".into(),
            },
        )
        .await;
    assert_eq!(c.state, CaseState::Handling);
    assert_eq!(c.closed_at, None);
    w.at(24 * 60 + 30);
    w.act(&id, "edu-liaison", draft("再次处理：已加装排水管"))
        .await;
    w.act(&id, "leader", approve()).await;
    w.act(&id, "edu-liaison", publish("再次处理：已加装排水管"))
        .await;
    w.at(24 * 60 + 60);
    let c = w.act(&id, "analyst", close()).await;
    assert_eq!(c.state, CaseState::Closed);
    assert_eq!(c.first_closed_at, Some(first_closed));
    assert_eq!(c.closed_at, Some(mins(24 * 60 + 60)));
    assert_eq!(c.replies.len(), 2);
    let actions: Vec<_> = c.timeline.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        &actions[7..],
        [
            "close",
            "reopen",
            "draft_reply",
            "approve_reply",
            "record_reply",
            "close"
        ]
    );
}

#[tokio::test]
async fn escalation_moves_the_case_to_the_parent_organisation() {
    let w = World::new().await;
    let id = w.register("analyst", true).await.id;
    w.act(&id, "analyst", judge(Level::Large)).await;
    w.at(5);
    let c = w
        .act(
            &id,
            "analyst",
            ActionKind::Escalate {
                reason: "涉及县直部门".into(),
            },
        )
        .await;
    assert_eq!(c.unit, "county");
    assert_eq!(c.original_unit, "town");
    // The town's people no longer reach it; the county's do.
    let e = w
        .svc
        .case(&id, &Principal::user("analyst"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Forbidden);
    let town_list = w
        .svc
        .list(&Principal::user("leader"), &CaseFilter::default())
        .await
        .unwrap();
    assert!(town_list.is_empty());
    let (c, reason) = code(w.try_act(&id, "leader", assign("town-edu", None)).await);
    assert_eq!((c, reason), (Code::Forbidden, Some("out_of_scope")));
    let county = w
        .svc
        .list(&Principal::user("county-leader"), &CaseFilter::default())
        .await
        .unwrap();
    assert_eq!(county.len(), 1);
    w.at(10);
    let c = w
        .act(&id, "county-leader", assign("county-police", None))
        .await;
    assert_eq!(c.state, CaseState::Assigned);
    // The police liaison now sees and handles it, though they hold no role at the county.
    let mine = w
        .svc
        .list(&Principal::user("police-liaison"), &CaseFilter::default())
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    w.act(&id, "police-liaison", handle()).await;
}

#[tokio::test]
async fn acting_or_looking_outside_ones_unit_is_refused() {
    let w = World::new().await;
    let id = w.register("analyst", false).await.id;
    w.act(&id, "analyst", judge(Level::General)).await;
    w.act(&id, "leader", assign("town-edu", None)).await;
    // Another department's liaison may neither handle nor see it.
    let (c, reason) = code(w.try_act(&id, "roads-liaison", handle()).await);
    assert_eq!((c, reason), (Code::Forbidden, Some("out_of_scope")));
    assert_eq!(
        w.svc
            .case(&id, &Principal::user("roads-liaison"))
            .await
            .unwrap_err()
            .code(),
        Code::Forbidden
    );
    assert!(
        w.svc
            .list(&Principal::user("roads-liaison"), &CaseFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    // The assigned department's liaison sees it.
    assert_eq!(
        w.svc
            .list(&Principal::user("edu-liaison"), &CaseFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    // A county department's liaison cannot register items of the town.
    let e = w
        .svc
        .register(
            NewCase {
                unit: "town".into(),
                source: Origin::Manual {
                    channel: ManualChannel::Phone,
                },
                title: Some("t".into()),
                summary: String::new(),
                link: None,
                negative: false,
                media_report: false,
                occurred_at: None,
                collected_at: None,
            },
            "police-liaison",
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.reason()),
        (Code::Forbidden, Some("out_of_scope"))
    );
    // An unknown user is not found; a refused registration used up no number.
    let e = w.try_act(&id, "nobody", handle()).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert_eq!(w.register("analyst", false).await.id, "2027-0002");
    // Administrators have no case powers.
    let (c, _) = code(w.try_act(&id, "admin", handle()).await);
    assert_eq!(c, Code::Forbidden);
}

#[tokio::test]
async fn a_concurrent_edit_is_a_conflict() {
    let w = World::new().await;
    let id = w.register("analyst", false).await.id;
    w.act(&id, "analyst", judge(Level::General)).await;
    // Two people read version 2 and act on it.
    let report = ActionKind::ReportUp {
        recipient: Recipient::LeadingGroup,
        summary: "报告".into(),
    };
    let watch = ActionKind::StartWatch {
        note: String::new(),
    };
    w.svc
        .apply(&id, Action::new(2, report), "analyst")
        .await
        .unwrap();
    let e = w
        .svc
        .apply(&id, Action::new(2, watch.clone()), "analyst2")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Conflict);
    assert!(e.to_string().contains("已被他人修改"), "{e}");
    // Truly at once: exactly one of them wins, the other gets a conflict.
    let a = w.svc.apply(
        &id,
        Action::new(3, ActionKind::StartWatch { note: "a".into() }),
        "analyst",
    );
    let b = w.svc.apply(&id, Action::new(3, watch), "analyst2");
    let (a, b) = tokio::join!(a, b);
    let oks = [a.is_ok(), b.is_ok()];
    assert_eq!(oks.iter().filter(|x| **x).count(), 1, "{a:?} {b:?}");
    let err = a.err().or(b.err()).unwrap();
    assert_eq!(err.code(), Code::Conflict);
    let c = w.svc.case(&id, &Principal::Operator).await.unwrap();
    assert_eq!(c.version, 4);
    // The log has exactly the accepted steps.
    let audit = w.svc.audit(0, 0).await.unwrap();
    assert_eq!(audit.len(), 1 + 4); // org.update + 4 case steps
    assert!(w.svc.verify_audit(None).await.unwrap().ok);
}

/// A store with an org import and one closed case: 9 audit entries.
async fn audited() -> World {
    let w = World::new().await;
    closed_case(&w, 0, 10).await;
    let r = w.svc.verify_audit(None).await.unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.entries, 9);
    assert_eq!(r.head.as_ref().unwrap().seq, 9);
    w
}

async fn sql(w: &World, q: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(q.to_string()))
        .execute(w.store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_edited_audit_entry_is_detected() {
    let w = audited().await;
    sql(
        &w,
        r#"UPDATE audit SET after = '{"state":"closed"}' WHERE seq = 4"#,
    )
    .await;
    let r = w.svc.verify_audit(None).await.unwrap();
    assert!(!r.ok);
    let t = r.tampered.unwrap();
    assert_eq!((t.kind, t.seq), (TamperKind::Edited, 4));
    assert!(t.message_zh.contains("修改"), "{}", t.message);
}

#[tokio::test]
async fn a_deleted_audit_entry_is_detected() {
    let w = audited().await;
    sql(&w, "DELETE FROM audit WHERE seq = 5").await;
    let t = w.svc.verify_audit(None).await.unwrap().tampered.unwrap();
    assert_eq!((t.kind, t.seq), (TamperKind::Deleted, 5));
}

#[tokio::test]
async fn reordered_audit_entries_are_detected() {
    let w = audited().await;
    // Swap the positions of entries 3 and 4.
    sql(
        &w,
        "UPDATE audit SET seq = -1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = -1",
    )
    .await;
    let t = w.svc.verify_audit(None).await.unwrap().tampered.unwrap();
    assert_eq!(t.kind, TamperKind::Reordered, "{}", t.message);
    assert!(t.seq == 3 || t.seq == 4, "{t:?}");
}

#[tokio::test]
async fn a_cut_tail_is_detected_with_the_anchor() {
    let w = audited().await;
    let anchor = w.svc.anchor().await.unwrap().unwrap();
    assert!(w.svc.verify_audit(Some(anchor.clone())).await.unwrap().ok);
    sql(&w, "DELETE FROM audit WHERE seq = 9").await;
    // The chain alone still looks fine; the anchor kept elsewhere does not.
    assert!(w.svc.verify_audit(None).await.unwrap().ok);
    let t = w
        .svc
        .verify_audit(Some(anchor))
        .await
        .unwrap()
        .tampered
        .unwrap();
    assert_eq!((t.kind, t.seq), (TamperKind::Truncated, 9));
}

#[tokio::test]
async fn the_organisation_is_merged_validated_and_guarded() {
    let w = World::new().await;
    let org = w.svc.org().await.unwrap();
    assert_eq!(org.units().count(), 5);
    assert_eq!(org.users().count(), 9);
    // An administrator exists now: others may not change the organisation.
    let e = w
        .svc
        .import_org(
            r#"{"units": [{"id": "school", "name": "学校", "kind": "organisation", "parent": "town"}]}"#,
            &Principal::user("leader"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Forbidden);
    // A merged whole that does not hold together is refused, and nothing is written.
    let e = w
        .svc
        .import_org(
            r#"{"units": [{"id": "school", "name": "学校", "kind": "organisation", "parent": "nowhere"}]}"#,
            &Principal::user("admin"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.reason()),
        (Code::InvalidInput, Some("unknown_parent"))
    );
    assert!(w.svc.org().await.unwrap().unit("school").is_none());
    // A valid change is merged with the rest and audited with before and after.
    let org = w
        .svc
        .import_org(
            r#"{"units": [{"id": "school", "name": "学校", "kind": "organisation", "parent": "town"}],
                "users": [{"id": "analyst", "name": "监测员甲", "grants": [{"unit": "school", "role": "analyst"}]}]}"#,
            &Principal::user("admin"),
        )
        .await
        .unwrap();
    assert_eq!(org.units().count(), 6);
    assert!(!org.in_scope("analyst", "town"));
    assert!(org.in_scope("analyst", "school"));
    let last = w.svc.audit(0, 0).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("org.update", "admin")
    );
    assert_eq!(
        last.before.unwrap()["users"][0]["grants"][0]["unit"],
        "town"
    );
    assert_eq!(last.after.unwrap()["units"][0]["id"], "school");
    // Bad files say what is wrong.
    let e = w
        .svc
        .import_org("[[units]]\nid = 1", &Principal::Operator)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidInput);
    assert!(e.to_string().contains("TOML"), "{e}");
}

#[tokio::test]
async fn the_duty_roster() {
    let w = World::new().await;
    let slot = |user: &str, from: i64, to: i64, position| NewDutySlot {
        unit: "town".into(),
        user: user.into(),
        starts_at: mins(from),
        ends_at: mins(to),
        position,
        note: String::new(),
    };
    let added = w
        .svc
        .add_duty(
            vec![slot("analyst2", 0, 600, 1), slot("analyst", 0, 600, 0)],
            &Principal::user("leader"),
        )
        .await
        .unwrap();
    assert_eq!(added.len(), 2);
    w.svc
        .add_duty(
            vec![slot("analyst", 600, 1200, 0)],
            &Principal::user("analyst"),
        )
        .await
        .unwrap();
    // A liaison does not manage the office's roster; unknown users are refused.
    let e = w
        .svc
        .add_duty(
            vec![slot("analyst", 0, 60, 0)],
            &Principal::user("edu-liaison"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Forbidden);
    let e = w
        .svc
        .add_duty(vec![slot("ghost", 0, 60, 0)], &Principal::Operator)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let on = w.svc.on_duty(mins(30)).await.unwrap();
    assert_eq!(
        on.iter().map(|s| s.user.as_str()).collect::<Vec<_>>(),
        ["analyst", "analyst2"]
    );
    assert_eq!(w.svc.on_duty(mins(700)).await.unwrap().len(), 1);
    let e = w
        .svc
        .remove_duty(added[0].id, &Principal::user("roads-liaison"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Forbidden);
    w.svc
        .remove_duty(added[0].id, &Principal::user("leader"))
        .await
        .unwrap();
    assert_eq!(w.svc.on_duty(mins(30)).await.unwrap().len(), 1);
    assert_eq!(
        w.svc
            .remove_duty(added[0].id, &Principal::Operator)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    let actions: Vec<_> = w
        .svc
        .audit(0, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "org.update",
            "duty.add",
            "duty.add",
            "duty.add",
            "duty.remove"
        ]
    );
}

#[tokio::test]
async fn registration_from_a_document_and_from_an_alert() {
    use yuqing_store::handling::{CaseQuery, NewAlert, Raised};
    use yuqing_store::{HandlingStore, Store};
    use yuqing_workflow::case::CaseSource;
    let w = World::new().await;
    let mut d = yuqing_store::conformance::new_doc("d1", "某小区停水三天无人管，居民生活困难", 0);
    d.doc.url = Some("http://bbs.local/t/1".into());
    d.doc.published_at = Some(mins(-120).fixed_offset());
    d.ingested_at = mins(-60);
    w.store.insert(&[d], None).await.unwrap();
    let from_doc = |platform: &str, id: &str| NewCase {
        unit: "town".into(),
        source: Origin::Document {
            platform: platform.into(),
            id: id.into(),
        },
        title: None,
        summary: String::new(),
        link: None,
        negative: true,
        media_report: false,
        occurred_at: None,
        collected_at: None,
    };
    let c = w
        .svc
        .register(from_doc("weibo", "d1"), "analyst")
        .await
        .unwrap();
    assert_eq!(c.title, "某小区停水三天无人管，居民生活困难");
    assert_eq!(c.link.as_deref(), Some("http://bbs.local/t/1"));
    assert_eq!((c.occurred_at, c.found_at), (Some(mins(-120)), mins(-60)));
    assert_eq!(
        c.source,
        CaseSource::Document {
            document: "weibo:d1".into()
        }
    );
    let by_key = w
        .store
        .cases(&CaseQuery {
            item_key: Some("doc:weibo:d1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_key.len(), 1);
    let e = w
        .svc
        .register(from_doc("weibo", "nope"), "analyst")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    let raised = w
        .store
        .raise_alerts(
            &[NewAlert {
                event_id: 7,
                level: 3,
                rule: "major_any_plan".into(),
                plan: Some("校园".into()),
                seq: 1,
                at: mins(-30),
                message: serde_json::json!({
                    "title": "校园欺凌视频", "link": "http://v.local/1",
                    "found_at": mins(-30),
                    "first_publisher": {"name": "某网友", "time": mins(-90)},
                }),
                deliveries: vec![],
            }],
            None,
        )
        .await
        .unwrap();
    let Raised::New(alert) = raised[0].clone() else {
        panic!("{raised:?}")
    };
    let from_alert = NewCase {
        source: Origin::Alert { id: alert },
        negative: false,
        ..from_doc("", "")
    };
    let first = w.svc.register(from_alert.clone(), "analyst").await.unwrap();
    assert_eq!(first.title, "校园欺凌视频");
    assert_eq!(first.link.as_deref(), Some("http://v.local/1"));
    assert_eq!(
        (first.occurred_at, first.found_at),
        (Some(mins(-90)), mins(-30))
    );
    // A second monitor registers the same alert: allowed, but the alert keeps its first
    // case, and only the first counts as "found first".
    w.at(5);
    let second = w.svc.register(from_alert, "analyst2").await.unwrap();
    assert_eq!(
        w.store.alert(alert).await.unwrap().unwrap().case_id,
        Some(first.id.clone())
    );
    let s = w
        .svc
        .stats(
            &Principal::Operator,
            Period {
                from: mins(-24 * 60),
                to: mins(24 * 60),
            },
            mins(10),
        )
        .await
        .unwrap();
    let by = |u: &str| s.monitors.iter().find(|m| m.user == u).unwrap().clone();
    assert_eq!((by("analyst").found, by("analyst").found_first), (2, 2));
    assert_eq!((by("analyst2").found, by("analyst2").found_first), (1, 0));
    assert_ne!(second.id, first.id);
}

/// 催办/督办 reach the answerable department through the channels named in `[deadlines]
/// remind_channels` (here a webhook on this machine): each once, by name, with what to do.
#[tokio::test]
async fn reminders_go_to_the_reminder_channels_once_each() {
    use axum::{Router, extract::State, routing::post};
    use std::sync::Mutex;
    type Got = Arc<Mutex<Vec<serde_json::Value>>>;
    async fn hook(State(got): State<Got>, body: String) -> &'static str {
        got.lock()
            .expect("lock")
            .push(serde_json::from_str(&body).expect("json"));
        "ok"
    }
    let got: Got = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(got.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let settings = |channels: &str| -> yuqing_handling::HandlingSettings {
        toml::from_str(&format!(
            "[deadlines]\nremind_channels = [{channels}]\n\n[[channels]]\ntype = \"webhook\"\nname = \"镇值班群\"\nurl = \"http://{addr}/hook\"\n"
        ))
        .expect("settings")
    };
    let w = World::new().await;
    // The education office's liaison has a mobile number and an e-mail address: reminders
    // to it @ them and copy them.
    w.svc
        .import_org(
            "[[users]]\nid = \"edu-liaison\"\nname = \"教育信息员\"\nmobile = \"13900002222\"\nemail = \"edu@town.example.org\"\nfeishu = \"ou_edu\"\ngrants = [{ unit = \"town-edu\", role = \"liaison\" }]\n",
            &Principal::Operator,
        )
        .await
        .expect("mobile");
    let clock = w.clock.clone() as Arc<dyn Clock>;
    let e = Cases::new(w.store.clone(), clock.clone(), DeadlineRules::default())
        .with_reminder_channels(&settings("\"镇值班群\", \"短信\""))
        .err()
        .expect("an unknown channel is refused");
    assert!(e.to_string().contains("短信"), "{e}");
    let s = settings("\"镇值班群\"");
    let svc = Cases::new(w.store.clone(), clock.clone(), s.deadlines.clone())
        .with_reminder_channels(&s)
        .expect("channels");
    let dispatcher = yuqing_handling::delivery::Dispatcher::new(
        w.store.clone(),
        clock,
        &s.channels,
        s.alerts.outbox.clone(),
        Arc::new(tokio::sync::Notify::new()),
    )
    .expect("dispatcher");

    // Assigned at 10 min to the education office, to be handled by 60 min.
    let id = w.register("analyst", false).await.id;
    w.at(10);
    w.act(&id, "analyst", judge(Level::General)).await;
    w.act(&id, "leader", assign("town-edu", Some(mins(60))))
        .await;
    let text_of = |v: &serde_json::Value| v["text"].as_str().unwrap_or_default().to_owned();

    // 30 min before: 催办.
    w.at(45);
    let sent = svc.tick_now().await.expect("tick");
    assert_eq!(
        sent.iter()
            .map(|r| (r.kind.as_str(), r.what.as_str()))
            .collect::<Vec<_>>(),
        [("urge", "handling")]
    );
    assert_eq!(dispatcher.drain().await.expect("drain").delivered, 1);
    let first = got.lock().expect("lock")[0].clone();
    assert_eq!(first["kind"], "urge", "{first}");
    assert_eq!(first["alert_id"], format!("remind:{}", sent[0].key));
    let text = text_of(&first);
    assert!(text.starts_with("【催办·一般】学校门口道路积水"), "{text}");
    assert!(text.contains(&format!("案件：{id} · 镇教育办")), "{text}");
    assert!(
        text.contains("请镇教育办在 2027-03-01 10:00（北京时间）前完成“批办时限”"),
        "{text}"
    );
    assert!(!text.contains("首发"), "{text}");
    assert_eq!(first["mention"], serde_json::json!(["13900002222"]));
    assert_eq!(
        first["mention_email"],
        serde_json::json!(["edu@town.example.org"])
    );
    assert_eq!(first["mention_feishu"], serde_json::json!(["ou_edu"]));

    // Past due: 督办, once.
    w.at(61);
    let sent = svc.tick_now().await.expect("tick");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, "supervise");
    assert!(svc.tick_now().await.expect("again").is_empty());
    assert_eq!(dispatcher.drain().await.expect("drain").delivered, 1);
    assert!(svc.tick_now().await.expect("again").is_empty());
    assert_eq!(dispatcher.drain().await.expect("drain").delivered, 0);
    let all = got.lock().expect("lock").clone();
    assert_eq!(all.len(), 2, "one message per reminder");
    assert_eq!(all[1]["kind"], "supervise");
    let text = text_of(&all[1]);
    assert!(text.starts_with("【督办·一般】"), "{text}");
    assert!(
        text.contains("“批办时限”已超时，请镇教育办立即办理"),
        "{text}"
    );
    // The case page still lists both.
    let view = svc.timeline(&id, &Principal::Operator).await.expect("view");
    assert_eq!(view.reminders.len(), 2);
    // With where each went and when it arrived.
    assert_eq!(
        view.reminders_sent
            .iter()
            .map(|x| (x.channel.as_str(), x.delivered_at.is_some(), x.attempts))
            .collect::<Vec<_>>(),
        [("镇值班群", true, 1), ("镇值班群", true, 1)]
    );
    assert_eq!(view.reminders_sent[0].key, view.reminders[0].key);
}

/// 领导加减分: the town's leader adds points to a monitor for a case and takes some from
/// another; who may is checked (not a liaison, not oneself, not a leader elsewhere), so are
/// the points, the reason, the time and the case; the statistics count them in their
/// period, a revoked one counts for nothing and is kept, and both are audited.
#[tokio::test]
async fn leaders_adjust_the_monitors_points_with_a_reason() {
    use yuqing_handling::cases::AdjustPoints;
    use yuqing_workflow::points::PointKind;
    let w = World::new().await;
    let case = w.register("analyst", true).await;
    w.at(60);
    let adjust = |user: &str, points: i32, reason: &str, case: Option<&str>| AdjustPoints {
        user: user.into(),
        points,
        reason: reason.into(),
        case: case.map(str::to_owned),
        at: None,
    };
    let leader = Principal::user("leader");
    let plus = w
        .svc
        .adjust_points(
            adjust(
                "analyst",
                3,
                "  及时发现并澄清不实信息，效果良好 ",
                Some(&case.id),
            ),
            &leader,
        )
        .await
        .expect("add");
    assert_eq!(
        (
            plus.points,
            plus.reason.as_str(),
            plus.case_id.as_deref(),
            plus.by.as_str(),
            plus.at
        ),
        (
            3,
            "及时发现并澄清不实信息，效果良好",
            Some(case.id.as_str()),
            "leader",
            mins(60)
        )
    );
    // Last month's assessment, made today: it counts when it says.
    let minus = w
        .svc
        .adjust_points(
            AdjustPoints {
                at: Some(mins(30)),
                ..adjust("analyst2", -2, "漏报县道塌方信息", None)
            },
            &Principal::user("county-leader"),
        )
        .await
        .expect("a county leader over the town");

    let refused = |e: HandlingError| (e.code(), e.to_string());
    for (who, a, code, says) in [
        (
            "edu-liaison",
            adjust("analyst", 1, "x", None),
            Code::Forbidden,
            "只有其所在单位或上级单位的领导",
        ),
        (
            "analyst",
            adjust("analyst2", 1, "x", None),
            Code::Forbidden,
            "只有其所在单位或上级单位的领导",
        ),
        (
            "leader",
            adjust("leader", 5, "x", None),
            Code::Forbidden,
            "不能给自己加减分",
        ),
        (
            "leader",
            adjust("county-leader", 1, "x", None),
            Code::Forbidden,
            "只有其所在单位或上级单位的领导",
        ),
        (
            "leader",
            adjust("analyst", 0, "x", None),
            Code::InvalidInput,
            "非零整数",
        ),
        (
            "leader",
            adjust("analyst", 101, "x", None),
            Code::InvalidInput,
            "非零整数",
        ),
        (
            "leader",
            adjust("analyst", 1, "  ", None),
            Code::InvalidInput,
            "理由",
        ),
        (
            "leader",
            adjust("nobody", 1, "x", None),
            Code::NotFound,
            "nobody",
        ),
        (
            "leader",
            adjust("analyst", 1, "x", Some("C-404")),
            Code::NotFound,
            "C-404",
        ),
        (
            "leader",
            AdjustPoints {
                at: Some(mins(61)),
                ..adjust("analyst", 1, "x", None)
            },
            Code::InvalidInput,
            "晚于现在",
        ),
    ] {
        let (c, m) = refused(
            w.svc
                .adjust_points(a, &Principal::user(who))
                .await
                .expect_err("refused"),
        );
        assert_eq!(c, code, "{who}: {m}");
        assert!(m.contains(says), "{who}: {m}");
    }

    let day = Period {
        from: mins(0),
        to: mins(24 * 60),
    };
    let s = w
        .svc
        .stats(&Principal::Operator, day, mins(120))
        .await
        .unwrap();
    let of =
        |s: &yuqing_handling::cases::Stats, u: &str| s.points.iter().find(|p| p.user == u).cloned();
    let a = of(&s, "analyst").expect("analyst");
    assert_eq!(a.sum(PointKind::Adjusted), 3);
    let e = a
        .entries
        .iter()
        .find(|e| e.kind == PointKind::Adjusted)
        .expect("entry");
    assert_eq!(
        (e.target.clone(), e.adjustment, e.by.as_deref()),
        (format!("case:{}", case.id), Some(plus.id), Some("leader"))
    );
    assert_eq!(of(&s, "analyst2").map(|p| p.total), Some(-2));
    assert_eq!(s.adjustments.len(), 2);
    // People's points are shown to those over them (and to themselves): not to a
    // department's liaison, nor to the county police liaison.
    for viewer in ["edu-liaison", "police-liaison"] {
        let s = w
            .svc
            .stats(&Principal::user(viewer), day, mins(120))
            .await
            .unwrap();
        assert!(
            s.points.is_empty() && s.adjustments.is_empty(),
            "{viewer}: {:?} {:?}",
            s.points,
            s.adjustments
        );
    }
    let s2 = w
        .svc
        .stats(&Principal::user("analyst2"), day, mins(120))
        .await
        .unwrap();
    assert!(
        of(&s2, "analyst2").is_some() && of(&s2, "analyst").is_some(),
        "the town's analysts see the town's people"
    );

    // An analyst may not revoke; the town's leader, over analyst2, may revoke the county
    // leader's adjustment (the rule is who is over the person, not who made it).
    let e = w
        .svc
        .revoke_adjustment(plus.id, &Principal::user("analyst"))
        .await
        .expect_err("not the analyst");
    assert_eq!(e.code(), Code::Forbidden);
    w.at(90);
    let r = w
        .svc
        .revoke_adjustment(minus.id, &Principal::user("leader"))
        .await
        .expect("the town leader is over analyst2 too");
    assert_eq!(
        (r.revoked_at, r.revoked_by.as_deref()),
        (Some(mins(90)), Some("leader"))
    );
    let e = w
        .svc
        .revoke_adjustment(999, &Principal::Operator)
        .await
        .expect_err("none");
    assert_eq!(e.code(), Code::NotFound);
    let s = w
        .svc
        .stats(&Principal::Operator, day, mins(120))
        .await
        .unwrap();
    assert_eq!(of(&s, "analyst2"), None, "revoked: nothing counts");
    assert_eq!(
        s.adjustments
            .iter()
            .map(|a| (a.id, a.revoked_at.is_some()))
            .collect::<Vec<_>>(),
        vec![(minus.id, true), (plus.id, false)],
        "kept, by the time it counts"
    );
    // Another period does not see them.
    let next = Period {
        from: mins(24 * 60),
        to: mins(48 * 60),
    };
    let s = w
        .svc
        .stats(&Principal::Operator, next, mins(48 * 60))
        .await
        .unwrap();
    assert!(s.adjustments.is_empty() && of(&s, "analyst").is_none());
    use yuqing_store::HandlingStore;
    let audit = w.store.audit_of("user:analyst2").await.expect("audit");
    assert_eq!(
        audit
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("points.adjust", "county-leader"),
            ("points.revoke", "leader")
        ]
    );
}
