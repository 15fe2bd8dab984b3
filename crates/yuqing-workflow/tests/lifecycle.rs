//! The whole life of cases, driven by a `FixedClock` stepping through days in milliseconds.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;
use yuqing_core::{Clock, Code, FixedClock};
use yuqing_judge::grading::Level;
use yuqing_workflow::audit::{self, AuditLog, NewEntry, TamperKind};
use yuqing_workflow::case::{
    Action, ActionKind, Actor, Attachment, AttachmentKind, Case, CaseSource, CaseState,
    ManualChannel, Outcome, Recipient, Registration, ReplyChannel,
};
use yuqing_workflow::deadlines::{
    DeadlineKind, DeadlineRules, DeadlineStatus, ReminderKind, deadlines_for, tick,
};
use yuqing_workflow::org::{Grant, Org, Role, Unit, UnitKind, User};
use yuqing_workflow::points::{
    Adjustment, LevelPoints, PassedAlert, PointKind, PointRules, monitor_points, passed_alerts,
};
use yuqing_workflow::stats::{Period, department_stats, monitor_stats, overdue_items};
use yuqing_workflow::{TimelineEntry, WorkflowError};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

fn org() -> Org {
    let u = |id: &str, kind, parent: Option<&str>| Unit {
        id: id.into(),
        name: id.into(),
        kind,
        parent: parent.map(Into::into),
    };
    let p = |id: &str, grants: &[(&str, Role)]| User {
        id: id.into(),
        name: id.into(),
        grants: grants
            .iter()
            .map(|(unit, role)| Grant {
                unit: (*unit).into(),
                role: *role,
            })
            .collect(),
        mobile: None,
        email: None,
        feishu: None,
    };
    use UnitKind::*;
    Org::new(
        vec![
            u("county", Organisation, None),
            u("county-police", Department, Some("county")),
            u("town", Organisation, Some("county")),
            u("town-edu", Department, Some("town")),
            u("town-roads", Department, Some("town")),
        ],
        vec![
            p("county-leader", &[("county", Role::Leader)]),
            p("county-analyst", &[("county", Role::Analyst)]),
            p("police-liaison", &[("county-police", Role::Liaison)]),
            p("leader", &[("town", Role::Leader)]),
            p("leader2", &[("town", Role::Leader)]),
            p("analyst", &[("town", Role::Analyst)]),
            p("analyst2", &[("town", Role::Analyst)]),
            p("spokes", &[("town", Role::Spokesperson)]),
            p("edu-liaison", &[("town-edu", Role::Liaison)]),
            p("roads-liaison", &[("town-roads", Role::Liaison)]),
        ],
    )
    .unwrap()
}

/// Monday 2027-03-01 09:00 Beijing time.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 1, 0, 0).unwrap()
}

struct World {
    org: Org,
    clock: FixedClock,
    rules: DeadlineRules,
    audit: AuditLog,
}

impl World {
    fn new() -> Self {
        World {
            org: org(),
            clock: FixedClock::new(t0()),
            rules: DeadlineRules::default(),
            audit: AuditLog::new(),
        }
    }
    fn at(&self, ms: i64) {
        self.clock.set(t0() + Duration::milliseconds(ms));
    }
    fn record(&mut self, case: &str, entries: &[TimelineEntry]) {
        for e in entries {
            self.audit.append(NewEntry {
                at: e.at,
                actor: e.actor.clone(),
                action: e.action.clone(),
                target: format!("case:{case}"),
                before: e.before.map(|s| json!({"state": s})),
                after: Some(json!({"state": e.after, "unit": e.unit, "detail": e.detail})),
            });
        }
    }
    fn register(&mut self, id: &str, user: &str, negative: bool, source: CaseSource) -> Case {
        let reg = Registration {
            id: id.into(),
            unit: "town".into(),
            source,
            title: format!("item {id}"),
            summary: String::new(),
            link: None,
            negative,
            media_report: false,
            occurred_at: None,
            collected_at: None,
        };
        let (case, entry) =
            Case::register(reg, &Actor::new(user), &self.org, self.clock.now()).unwrap();
        self.record(id, &[entry]);
        case
    }
    fn try_act(
        &mut self,
        case: &mut Case,
        user: &str,
        kind: ActionKind,
    ) -> Result<(), WorkflowError> {
        let entries = case.apply(
            Action::new(case.version, kind),
            &Actor::new(user),
            &self.org,
            self.clock.now(),
        )?;
        let id = case.id.clone();
        self.record(&id, &entries);
        Ok(())
    }
    fn act(&mut self, case: &mut Case, user: &str, kind: ActionKind) {
        if let Err(e) = self.try_act(case, user, kind) {
            panic!("{user} could not act on {}: {e}", case.id);
        }
    }
}

fn manual() -> CaseSource {
    CaseSource::Manual {
        channel: ManualChannel::Hotline,
    }
}
fn judge(level: Level, negative: bool) -> ActionKind {
    ActionKind::Judge {
        level,
        facts: "facts so far".into(),
        negative,
        emergency: false,
    }
}
fn assign(lead: &str, due_at: Option<DateTime<Utc>>) -> ActionKind {
    ActionKind::Assign {
        lead: lead.into(),
        co: vec![],
        due_at,
        instruction: "请核实并答复".into(),
    }
}
fn handle(outcome: Outcome) -> ActionKind {
    ActionKind::RecordHandling {
        outcome: Some(outcome),
        actions: "核实情况".into(),
    }
}
fn draft(text: &str) -> ActionKind {
    ActionKind::DraftReply { text: text.into() }
}
fn approve() -> ActionKind {
    ActionKind::ApproveReply {
        comment: "同意".into(),
    }
}
fn reply(text: &str) -> ActionKind {
    ActionKind::RecordReply {
        channel: ReplyChannel::MessageBoard,
        link: Some("https://example.invalid/r/1".into()),
        text: text.into(),
        spokesperson: Some("spokes".into()),
        mail_to: None,
    }
}
fn close() -> ActionKind {
    ActionKind::Close {
        summary: "已答复，群众认可".into(),
    }
}

#[test]
fn a_general_item_is_answered_on_time() {
    let mut w = World::new();
    let mut c = w.register("g1", "analyst", true, manual());
    w.at(20 * MIN);
    w.act(&mut c, "analyst", judge(Level::General, true));
    w.at(50 * MIN);
    w.act(
        &mut c,
        "leader",
        assign("town-edu", Some(t0() + Duration::hours(20))),
    );
    w.at(3 * HOUR);
    w.act(&mut c, "edu-liaison", handle(Outcome::Untrue));
    w.act(
        &mut c,
        "edu-liaison",
        ActionKind::Attach {
            attachment: Attachment {
                kind: AttachmentKind::Image,
                name: "现场照片.jpg".into(),
                sha256: "a".repeat(64),
                size: 102_400,
            },
        },
    );
    w.at(5 * HOUR);
    w.act(&mut c, "edu-liaison", draft("经核实，情况不实。"));
    w.at(6 * HOUR);
    w.act(&mut c, "spokes", approve());
    w.at(7 * HOUR);
    w.act(&mut c, "spokes", reply("经核实，情况不实。"));
    w.at(7 * HOUR + 1);
    w.act(
        &mut c,
        "analyst",
        ActionKind::RecordSatisfaction {
            score: 4,
            note: String::new(),
        },
    );
    w.at(DAY);
    w.act(&mut c, "analyst", close());
    w.at(2 * DAY);
    w.act(
        &mut c,
        "analyst",
        ActionKind::Archive {
            note: String::new(),
        },
    );

    assert_eq!(c.state, CaseState::Archived);
    assert_eq!(c.version, 11);
    assert_eq!(c.timeline.len(), 11);
    // The case proves when it was collected, seen, reported/assigned and answered.
    assert_eq!(c.found_at, t0());
    assert_eq!(c.registered_at, t0());
    assert_eq!(c.first_assigned_at, Some(t0() + Duration::minutes(50)));
    assert_eq!(c.first_replied_at(), Some(t0() + Duration::hours(7)));
    let ds = deadlines_for(&c, &w.rules);
    let kinds: Vec<_> = ds.iter().map(|d| d.what).collect();
    assert_eq!(
        kinds,
        [
            DeadlineKind::NotifyLeadingGroup,
            DeadlineKind::ForwardToDepartment,
            DeadlineKind::AnswerGeneral,
            DeadlineKind::Handling
        ]
    );
    for d in &ds {
        assert_eq!(
            d.status(w.clock.now()),
            DeadlineStatus::MetOnTime,
            "{:?}",
            d.what
        );
    }
    assert!(
        tick(
            std::slice::from_ref(&c),
            &w.rules,
            w.clock.now(),
            &BTreeSet::new()
        )
        .is_empty()
    );
    assert!(audit::verify(w.audit.entries()).is_ok());
    assert_eq!(w.audit.entries().len(), 11);
}

#[test]
fn a_major_item_reported_late_is_reminded_once_and_escalated() {
    let mut w = World::new();
    let reg = Registration {
        id: "m1".into(),
        unit: "town".into(),
        source: CaseSource::Alert {
            alert_id: "a-7".into(),
        },
        title: "学校食堂食品安全".into(),
        summary: String::new(),
        link: None,
        negative: true,
        media_report: false,
        occurred_at: Some(t0() - Duration::hours(1)),
        collected_at: Some(t0() - Duration::minutes(10)),
    };
    let (mut c, _) = Case::register(reg, &Actor::new("analyst"), &w.org, w.clock.now()).unwrap();
    w.at(10 * MIN);
    w.act(&mut c, "analyst", judge(Level::Major, true));

    let mut sent = BTreeSet::new();
    // Report upward is due 2 h after it happened (t0 + 1 h); notify 1 h after found (t0 + 50 min).
    w.at(15 * MIN);
    assert!(tick(std::slice::from_ref(&c), &w.rules, w.clock.now(), &sent).is_empty());
    w.at(25 * MIN);
    let r = tick(std::slice::from_ref(&c), &w.rules, w.clock.now(), &sent);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].what, r[0].kind),
        (DeadlineKind::NotifyLeadingGroup, ReminderKind::Urge)
    );
    assert!(r[0].message.zh.starts_with("催办"));
    sent.extend(r.into_iter().map(|r| r.key));
    w.at(35 * MIN);
    let r = tick(std::slice::from_ref(&c), &w.rules, w.clock.now(), &sent);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].what, r[0].kind),
        (DeadlineKind::ReportUpward, ReminderKind::Urge)
    );
    sent.extend(r.into_iter().map(|r| r.key));
    // Ticking again in the same window sends nothing more.
    w.at(40 * MIN);
    assert!(tick(std::slice::from_ref(&c), &w.rules, w.clock.now(), &sent).is_empty());
    // Past due: one 督办 each, once.
    w.at(HOUR + 1);
    let r = tick(std::slice::from_ref(&c), &w.rules, w.clock.now(), &sent);
    assert_eq!(r.len(), 2);
    assert!(
        r.iter()
            .all(|r| r.kind == ReminderKind::Supervise && r.message.zh.starts_with("督办"))
    );
    sent.extend(r.into_iter().map(|r| r.key));
    for step in 1..=5 {
        w.at(HOUR + step * 10 * MIN);
        assert!(tick(std::slice::from_ref(&c), &w.rules, w.clock.now(), &sent).is_empty());
    }
    // Reported late.
    w.at(2 * HOUR);
    w.act(
        &mut c,
        "analyst",
        ActionKind::ReportUp {
            recipient: Recipient::ParentUnit,
            summary: "食品安全舆情".into(),
        },
    );
    let ds = deadlines_for(&c, &w.rules);
    assert!(
        ds.iter()
            .all(|d| d.status(w.clock.now()) == DeadlineStatus::MetLate)
    );
    assert_eq!(ds.len(), 2);
    // The town cannot settle it: escalate to the county.
    w.act(
        &mut c,
        "leader",
        ActionKind::Escalate {
            reason: "涉及县级部门".into(),
        },
    );
    assert_eq!(c.unit, "county");
    assert_eq!(c.state, CaseState::Reported);
    assert_eq!(c.escalations.len(), 1);
    // The town leader no longer reaches it; the county leader does.
    let e = w
        .try_act(&mut c, "leader", assign("town-edu", None))
        .unwrap_err();
    assert_eq!((e.code(), e.reason()), (Code::Forbidden, "out_of_scope"));
    w.act(
        &mut c,
        "county-leader",
        assign("county-police", Some(t0() + Duration::days(2))),
    );
    w.at(3 * HOUR);
    w.act(&mut c, "police-liaison", handle(Outcome::True));
    assert_eq!(c.state, CaseState::Handling);
    // The monitor who found it is counted late.
    let period = Period {
        from: t0() - Duration::days(1),
        to: t0() + Duration::days(1),
    };
    let m = monitor_stats(std::slice::from_ref(&c), &w.rules, period, w.clock.now());
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].found, m[0].found_first, m[0].reported, m[0].late),
        (1, 1, 1, 1)
    );
}

#[test]
fn a_reply_sent_back_then_approved() {
    let mut w = World::new();
    let mut c = w.register("s1", "analyst", false, manual());
    w.act(&mut c, "analyst", judge(Level::General, false));
    w.act(&mut c, "leader", assign("town-edu", None));
    w.act(&mut c, "edu-liaison", handle(Outcome::True));
    w.at(HOUR);
    w.act(&mut c, "edu-liaison", draft("初稿"));
    w.act(
        &mut c,
        "leader",
        ActionKind::SendBack {
            reason: "口径不统一".into(),
        },
    );
    assert_eq!(c.state, CaseState::Handling);
    w.act(&mut c, "edu-liaison", draft("修改稿"));
    assert_eq!(c.drafts.len(), 2);
    w.act(&mut c, "leader", approve());
    assert_eq!(c.state, CaseState::ReplyApproved);
    // Publishing another wording than the approved one is refused.
    let e = w.try_act(&mut c, "spokes", reply("初稿")).unwrap_err();
    assert_eq!(e.reason(), "reply_text_mismatch");
    w.act(&mut c, "spokes", reply("修改稿"));
    assert_eq!(c.replies[0].revision, 2);
    let actions: Vec<_> = c.timeline.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "register",
            "judge",
            "assign",
            "record_handling",
            "draft_reply",
            "send_back",
            "draft_reply",
            "approve_reply",
            "record_reply"
        ]
    );
    let sb = &c.timeline[5];
    assert_eq!(
        (sb.before, sb.after),
        (Some(CaseState::ReplyDrafted), CaseState::Handling)
    );
    assert_eq!(sb.actor, "leader");
    assert_eq!(sb.detail["reason"], "口径不统一");
}

/// A case at ReplyDrafted, drafted by `drafter`.
fn drafted(w: &mut World, id: &str, drafter: &str) -> Case {
    let mut c = w.register(id, "analyst", false, manual());
    w.act(&mut c, "analyst", judge(Level::General, false));
    w.act(&mut c, "leader", assign("town-edu", None));
    w.act(&mut c, "edu-liaison", handle(Outcome::Suggestion));
    w.act(&mut c, drafter, draft("感谢建议"));
    c
}

#[test]
fn nobody_approves_their_own_draft_and_liaisons_never_approve() {
    let mut w = World::new();
    let mut c = drafted(&mut w, "x1", "edu-liaison");
    let e = w.try_act(&mut c, "edu-liaison", approve()).unwrap_err();
    assert_eq!((e.code(), e.reason()), (Code::Forbidden, "self_approval"));
    assert!(e.message().zh.contains("不能审定自己起草的回复"));
    assert!(e.message().en.contains("cannot approve their own draft"));
    // Another liaison is not allowed either (and is outside the unit).
    let e = w.try_act(&mut c, "roads-liaison", approve()).unwrap_err();
    assert_eq!(e.code(), Code::Forbidden);
    // A spokesperson who drafted cannot approve their own draft either.
    let mut c2 = drafted(&mut w, "x2", "spokes");
    let e = w.try_act(&mut c2, "spokes", approve()).unwrap_err();
    assert_eq!(e.reason(), "self_approval");
    // An analyst is in the unit but holds no approving role.
    let e = w.try_act(&mut c2, "analyst", approve()).unwrap_err();
    assert_eq!(e.reason(), "role_not_permitted");
    w.act(&mut c2, "leader", approve());
    assert_eq!(c.state, CaseState::ReplyDrafted);
    assert_eq!(c.version, 5, "refused actions change nothing");
}

#[test]
fn acting_outside_ones_unit_is_refused() {
    let mut w = World::new();
    let mut c = w.register("o1", "analyst", false, manual());
    w.act(&mut c, "analyst", judge(Level::General, false));
    w.act(&mut c, "leader", assign("town-edu", None));
    // The roads liaison is not a handler of this case.
    let e = w
        .try_act(&mut c, "roads-liaison", handle(Outcome::True))
        .unwrap_err();
    assert_eq!((e.code(), e.reason()), (Code::Forbidden, "out_of_scope"));
    // A liaison cannot judge or assign, even in scope of their department.
    let e = w
        .try_act(&mut c, "edu-liaison", assign("town-edu", None))
        .unwrap_err();
    assert_eq!(e.code(), Code::Forbidden);
    // Nor register for a unit above their department.
    let reg = Registration {
        id: "o2".into(),
        unit: "town".into(),
        source: manual(),
        title: "t".into(),
        summary: String::new(),
        link: None,
        negative: false,
        media_report: false,
        occurred_at: None,
        collected_at: None,
    };
    let e = Case::register(
        reg.clone(),
        &Actor::new("edu-liaison"),
        &w.org,
        w.clock.now(),
    )
    .unwrap_err();
    assert_eq!(e.reason(), "out_of_scope");
    // A leader cannot assign to a department of another unit.
    let e = w
        .try_act(&mut c, "leader", assign("county-police", None))
        .unwrap_err();
    assert_eq!(e.reason(), "department_out_of_scope");
    // Unknown users are not found.
    let e = Case::register(reg, &Actor::new("ghost"), &w.org, w.clock.now()).unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
}

#[test]
fn closing_before_approval_is_refused() {
    let mut w = World::new();
    let mut c = drafted(&mut w, "c1", "edu-liaison");
    let e = w.try_act(&mut c, "leader", close()).unwrap_err();
    assert_eq!(
        (e.code(), e.reason()),
        (Code::InvalidInput, "illegal_transition")
    );
    assert!(e.message().zh.contains("回复待审定"), "{}", e.message().zh);
    // Nor recording a reply before approval.
    let e = w.try_act(&mut c, "spokes", reply("感谢建议")).unwrap_err();
    assert_eq!(e.reason(), "illegal_transition");
    // Nor drafting before a verification outcome.
    let mut d = w.register("c2", "analyst", false, manual());
    w.act(&mut d, "analyst", judge(Level::General, false));
    w.act(&mut d, "leader", assign("town-edu", None));
    w.act(
        &mut d,
        "edu-liaison",
        ActionKind::RecordHandling {
            outcome: None,
            actions: "正在核实".into(),
        },
    );
    let e = w.try_act(&mut d, "edu-liaison", draft("x")).unwrap_err();
    assert_eq!(e.reason(), "outcome_required");
}

#[test]
fn a_stale_version_conflicts() {
    let mut w = World::new();
    let mut c = w.register("v1", "analyst", false, manual());
    let seen = c.version;
    // Someone else judges first.
    w.act(&mut c, "analyst2", judge(Level::General, false));
    let e = c
        .apply(
            Action::new(seen, judge(Level::Large, false)),
            &Actor::new("analyst"),
            &w.org,
            w.clock.now(),
        )
        .unwrap_err();
    assert_eq!((e.code(), e.reason()), (Code::Conflict, "version_conflict"));
    assert!(e.message().zh.contains("已被他人修改"));
    assert!(e.message().en.contains("changed by someone else"));
    assert_eq!(c.level, Some(Level::General));
}

#[test]
fn a_closed_case_is_reopened() {
    let mut w = World::new();
    let mut c = drafted(&mut w, "r1", "edu-liaison");
    w.act(&mut c, "spokes", approve());
    w.act(&mut c, "spokes", reply("感谢建议"));
    w.at(HOUR);
    w.act(&mut c, "analyst", close());
    let first_close = c.first_closed_at;
    let e = w
        .try_act(
            &mut c,
            "analyst",
            ActionKind::Reopen {
                reason: "群众再次反映".into(),
            },
        )
        .unwrap_err();
    assert_eq!(e.reason(), "role_not_permitted");
    w.at(2 * HOUR);
    w.act(
        &mut c,
        "leader",
        ActionKind::Reopen {
            reason: "群众再次反映".into(),
        },
    );
    assert_eq!(c.state, CaseState::Handling);
    assert_eq!(c.closed_at, None);
    w.act(&mut c, "edu-liaison", draft("补充答复"));
    w.act(&mut c, "leader2", approve());
    w.act(&mut c, "spokes", reply("补充答复"));
    w.at(3 * HOUR);
    w.act(&mut c, "analyst", close());
    assert_eq!(c.first_closed_at, first_close);
    assert_eq!(c.closed_at, Some(t0() + Duration::hours(3)));
    assert_eq!(c.replies.len(), 2);
    w.act(
        &mut c,
        "analyst",
        ActionKind::StartWatch {
            note: "节前跟踪".into(),
        },
    );
    w.at(DAY);
    w.act(
        &mut c,
        "analyst",
        ActionKind::MarkSubsided {
            note: "已平息".into(),
        },
    );
    assert_eq!(
        c.watch.as_ref().and_then(|w| w.subsided_at),
        Some(t0() + Duration::days(1))
    );
}

#[test]
fn audit_tampering_is_detected() {
    let mut w = World::new();
    let mut c = drafted(&mut w, "a1", "edu-liaison");
    w.act(&mut c, "leader", approve());
    let good = w.audit.entries().to_vec();
    assert_eq!(good.len(), 6);
    assert!(audit::verify(&good).is_ok());
    // Edit: the approver is changed afterwards.
    let mut edited = good.clone();
    edited[5].actor = "spokes".into();
    let t = audit::verify(&edited).unwrap_err();
    assert_eq!((t.seq, t.kind), (6, TamperKind::Edited));
    // Delete: the assignment vanishes.
    let mut deleted = good.clone();
    deleted.remove(2);
    let t = audit::verify(&deleted).unwrap_err();
    assert_eq!((t.seq, t.kind), (3, TamperKind::Deleted));
    assert!(t.reason.zh.contains("缺失"));
    // Reorder: handling before assignment.
    let mut reordered = good.clone();
    reordered.swap(2, 3);
    let t = audit::verify(&reordered).unwrap_err();
    assert_eq!(t.kind, TamperKind::Reordered);
    // Insert: a forged approval in the middle.
    let forged = audit::AuditEntry::next(
        Some(&good[3]),
        NewEntry {
            at: good[3].at,
            actor: "intruder".into(),
            action: "approve_reply".into(),
            target: "case:a1".into(),
            before: None,
            after: None,
        },
    );
    let mut inserted = good.clone();
    inserted.insert(4, forged);
    assert_eq!(
        audit::verify(&inserted).unwrap_err().kind,
        TamperKind::Inserted
    );
}

#[test]
fn statistics_over_a_handful_of_cases() {
    let mut w = World::new();
    // A: edu, handling due 10 h; replied at 4 h, closed; satisfaction 5.
    let mut a = w.register(
        "A",
        "analyst",
        false,
        CaseSource::Document {
            document: "weibo:1".into(),
        },
    );
    w.act(&mut a, "analyst", judge(Level::Large, false));
    w.act(
        &mut a,
        "leader",
        assign("town-edu", Some(t0() + Duration::hours(10))),
    );
    w.act(&mut a, "edu-liaison", handle(Outcome::True));
    w.at(2 * HOUR);
    w.act(&mut a, "edu-liaison", draft("a"));
    w.act(&mut a, "leader", approve());
    w.at(4 * HOUR);
    w.act(&mut a, "spokes", reply("a"));
    w.act(
        &mut a,
        "analyst",
        ActionKind::RecordSatisfaction {
            score: 5,
            note: String::new(),
        },
    );
    w.act(&mut a, "analyst", close());
    // B: same document found later by analyst2: not first. edu, due 1 h, drafted at 6 h (late),
    // replied at 8 h, satisfaction 2.
    w.at(4 * HOUR);
    let mut b = w.register(
        "B",
        "analyst2",
        false,
        CaseSource::Document {
            document: "weibo:1".into(),
        },
    );
    w.act(&mut b, "analyst2", judge(Level::Large, false));
    w.act(
        &mut b,
        "leader",
        assign("town-edu", Some(t0() + Duration::hours(5))),
    );
    w.act(&mut b, "edu-liaison", handle(Outcome::True));
    w.at(6 * HOUR);
    w.act(&mut b, "edu-liaison", draft("b"));
    w.act(&mut b, "leader", approve());
    w.at(8 * HOUR);
    w.act(&mut b, "spokes", reply("b"));
    w.act(
        &mut b,
        "analyst",
        ActionKind::RecordSatisfaction {
            score: 2,
            note: String::new(),
        },
    );
    // C: edu, general, found at 8 h (answer due 32 h), not replied by as_of (t0 + 33 h).
    let mut cc = w.register("C", "analyst", false, manual());
    w.act(&mut cc, "analyst", judge(Level::General, false));
    w.act(&mut cc, "leader", assign("town-edu", None));
    // D: roads, no deadline of its own (large, no due), replied at 5 h after assignment.
    w.at(10 * HOUR);
    let mut d = w.register("D", "analyst", false, manual());
    w.act(&mut d, "analyst", judge(Level::Large, false));
    w.act(&mut d, "leader", assign("town-roads", None));
    w.act(&mut d, "roads-liaison", handle(Outcome::Untrue));
    w.act(&mut d, "roads-liaison", draft("d"));
    w.act(&mut d, "spokes", approve());
    w.at(15 * HOUR);
    w.act(&mut d, "spokes", reply("d"));
    // E: assigned outside the period: not counted.
    w.at(3 * DAY);
    let mut e = w.register("E", "analyst", false, manual());
    w.act(&mut e, "analyst", judge(Level::General, false));
    w.act(&mut e, "leader", assign("town-edu", None));

    let cases = vec![a, b, cc, d, e];
    let period = Period {
        from: t0(),
        to: t0() + Duration::days(1),
    };
    let as_of = t0() + Duration::hours(33);
    let s = department_stats(&cases, &w.rules, period, as_of);
    assert_eq!(s.len(), 2);
    let edu = &s[0];
    assert_eq!(edu.unit, "town-edu");
    assert_eq!((edu.assigned, edu.replied, edu.closed), (3, 2, 1));
    // A on time (draft 2 h ≤ 10 h), B late (draft 6 h > 5 h), C overdue (due 32 h < 33 h).
    assert_eq!((edu.on_time, edu.overdue), (1, 2));
    // Times to reply: A 4 h, B 4 h (assigned at 4 h, replied at 8 h) → median 4 h.
    assert_eq!(edu.median_reply_secs, Some(4 * 3600));
    assert_eq!(edu.reply_rate, Some(2.0 / 3.0));
    assert_eq!(edu.completion_rate, Some(1.0 / 3.0));
    assert_eq!(edu.on_time_rate, Some(1.0 / 3.0));
    assert_eq!(edu.mean_satisfaction, Some(3.5));
    let roads = &s[1];
    assert_eq!(roads.unit, "town-roads");
    assert_eq!((roads.assigned, roads.replied, roads.closed), (1, 1, 0));
    assert_eq!(
        (roads.on_time, roads.overdue, roads.on_time_rate),
        (0, 0, None)
    );
    assert_eq!(roads.median_reply_secs, Some(5 * 3600));
    assert_eq!(roads.mean_satisfaction, None);

    // Missed department deadlines: B met late (due 5 h, drafted 6 h), C unmet (due 32 h,
    // as of 33 h); A met in time, D has none, E was not assigned yet as of then.
    let o = overdue_items(&cases, &w.rules, period, as_of);
    assert_eq!(
        o.iter()
            .map(|x| (
                x.case.as_str(),
                x.unit.as_str(),
                x.met_at.is_some(),
                x.late_secs
            ))
            .collect::<Vec<_>>(),
        vec![
            ("B", "town-edu", true, 3600),
            ("C", "town-edu", false, 3600)
        ]
    );
    assert_eq!(o[0].due_at, t0() + Duration::hours(5));
    // C is still outstanding in a later period; B's late step is not in it.
    let later = Period {
        from: period.to,
        to: period.to + Duration::days(1),
    };
    let o = overdue_items(&cases, &w.rules, later, as_of + Duration::hours(2));
    assert_eq!(
        o.iter()
            .map(|x| (x.case.as_str(), x.late_secs))
            .collect::<Vec<_>>(),
        vec![("C", 3 * 3600)]
    );

    let m = monitor_stats(&cases, &w.rules, period, as_of);
    let analyst = m.iter().find(|m| m.user == "analyst").unwrap();
    let analyst2 = m.iter().find(|m| m.user == "analyst2").unwrap();
    // analyst found A, C, D (E is outside the period), all first.
    assert_eq!(
        (analyst.found, analyst.found_first, analyst.reported),
        (3, 3, 0)
    );
    // A, B and D are large: report upward due 3 h after found; nobody reported → late.
    assert_eq!(analyst.late, 2);
    assert_eq!(
        (analyst2.found, analyst2.found_first, analyst2.late),
        (1, 0, 1)
    );
}

#[test]
fn performance_points_are_itemised_and_weighted() {
    let mut w = World::new();
    let report_up = || ActionKind::ReportUp {
        recipient: Recipient::ParentUnit,
        summary: "上报".into(),
    };
    // P: major and negative, found first by analyst at 0, reported by analyst at 1 h
    // (leading group due 1 h, upward due 2 h: both met).
    let mut p = w.register(
        "P",
        "analyst",
        true,
        CaseSource::Document {
            document: "weibo:9".into(),
        },
    );
    w.act(&mut p, "analyst", judge(Level::Major, true));
    w.at(HOUR);
    w.act(&mut p, "analyst", report_up());
    // Q: the same document found again by analyst2 (not first), large, reported by
    // analyst2 at 5 h: upward due 3 h after found, missed → late, no reward.
    w.at(HOUR);
    let mut q = w.register(
        "Q",
        "analyst2",
        false,
        CaseSource::Document {
            document: "weibo:9".into(),
        },
    );
    w.act(&mut q, "analyst2", judge(Level::Large, false));
    w.at(5 * HOUR);
    w.act(&mut q, "analyst2", report_up());
    // R: general, by analyst, never reported: first found, no deadline of the two.
    let mut r = w.register("R", "analyst", false, manual());
    w.act(&mut r, "analyst", judge(Level::General, false));
    // S: found the next day: outside the period.
    w.at(DAY + HOUR);
    let s = w.register("S", "analyst", false, manual());

    let cases = vec![p, q, r, s];
    let period = Period {
        from: t0(),
        to: t0() + Duration::days(1),
    };
    let as_of = t0() + Duration::hours(30);
    // An alert went past zhang at 2 h and past li at 2 h 15; one past wang after the period.
    let t = |ms: i64| t0() + Duration::milliseconds(ms);
    let passed = passed_alerts(
        [
            (41, 0, "zhang", t(105 * MIN)),
            (41, 1, "li", t(2 * HOUR)),
            (41, 2, "leader", t(2 * HOUR + 15 * MIN)),
            (42, 0, "wang", t(DAY - MIN)),
            (42, 1, "li", t(DAY + 14 * MIN)),
        ],
        |a| format!("预警 {a}"),
    );
    assert_eq!(passed.len(), 3);
    let rules = PointRules::default();
    // A leader adds 2 to analyst2 for case Q's handling and takes 3 from wang for an item
    // missed; one for zhang falls after the period, one for li after `as_of`.
    let adjustments = [
        Adjustment {
            id: 1,
            user: "analyst2".into(),
            points: 2,
            reason: "及时澄清不实信息，效果良好".into(),
            case_id: Some("Q".into()),
            at: t(5 * HOUR),
            by: "leader".into(),
        },
        Adjustment {
            id: 2,
            user: "wang".into(),
            points: -3,
            reason: "漏报县一中食堂舆情".into(),
            case_id: None,
            at: t(6 * HOUR),
            by: "leader".into(),
        },
        Adjustment {
            id: 3,
            user: "zhang".into(),
            points: 5,
            reason: "下一周期".into(),
            case_id: None,
            at: t(DAY + HOUR),
            by: "leader".into(),
        },
        Adjustment {
            id: 4,
            user: "li".into(),
            points: 1,
            reason: "as_of 之后".into(),
            case_id: None,
            at: as_of + Duration::minutes(1),
            by: "leader".into(),
        },
    ];
    let pts = monitor_points(
        &cases,
        &passed,
        &adjustments,
        &w.rules,
        &rules,
        period,
        as_of,
    );
    let of = |u: &str| pts.iter().find(|m| m.user == u);
    let summary = |u: &str| {
        of(u).map(|m| {
            (
                m.total,
                m.entries
                    .iter()
                    .map(|e| (e.kind, e.points, e.target.clone()))
                    .collect::<Vec<_>>(),
            )
        })
    };
    assert_eq!(
        summary("analyst"),
        Some((
            3 + 1 + 1,
            vec![
                (PointKind::FoundFirst, 3, "case:P".to_owned()),
                (PointKind::Reported, 1, "case:P".to_owned()),
                (PointKind::FoundFirst, 1, "case:R".to_owned()),
            ]
        ))
    );
    assert_eq!(
        summary("analyst2"),
        Some((
            0,
            vec![
                (PointKind::Late, -2, "case:Q".to_owned()),
                (PointKind::Adjusted, 2, "case:Q".to_owned()),
            ]
        ))
    );
    let adjusted = &of("analyst2").unwrap().entries[1];
    assert_eq!(
        (
            adjusted.adjustment,
            adjusted.by.as_deref(),
            adjusted.title.as_str()
        ),
        (Some(1), Some("leader"), "及时澄清不实信息，效果良好")
    );
    assert_eq!(of("analyst2").unwrap().sum(PointKind::Adjusted), 2);
    assert_eq!(
        summary("wang"),
        Some((
            -3,
            vec![(PointKind::Adjusted, -3, "adjustment:2".to_owned())]
        ))
    );
    let late = &of("analyst2").unwrap().entries[0];
    assert_eq!(late.deadlines, vec![DeadlineKind::ReportUpward]);
    assert_eq!(late.at, t0() + Duration::hours(4)); // due 3 h after Q was found at 1 h
    assert_eq!(
        summary("zhang"),
        Some((
            -1,
            vec![(PointKind::Unacknowledged, -1, "alert:41".to_owned())]
        ))
    );
    assert_eq!(of("zhang").unwrap().entries[0].title, "预警 41");
    // li let alert 41 pass in the period; alert 42's notice is the next day.
    assert_eq!(of("li").map(|m| m.total), Some(-1));
    assert!(of("leader").is_none());
    // The figures agree with the monitor statistics of the same cases.
    let m = monitor_stats(&cases, &w.rules, period, as_of);
    let a = m.iter().find(|m| m.user == "analyst").unwrap();
    assert_eq!((a.found, a.found_first, a.reported, a.late), (2, 2, 1, 0));

    // Other weights; a rule worth 0 leaves no entry, and a person left with none no row.
    let rules = PointRules {
        found_first: LevelPoints {
            major: 10,
            ..Default::default()
        },
        late: 0,
        ..Default::default()
    };
    let pts = monitor_points(&cases, &passed, &[], &w.rules, &rules, period, as_of);
    assert_eq!(
        pts.iter().find(|m| m.user == "analyst").map(|m| m.total),
        Some(12)
    );
    assert!(pts.iter().all(|m| m.user != "analyst2"));
    // As of 30 min nothing was reported, missed or passed yet: only the finds remain (the
    // cases found in the period count, as in the monitor statistics).
    let early = t0() + Duration::minutes(30);
    let none: &[PassedAlert] = &[];
    let pts = monitor_points(
        &cases,
        none,
        &adjustments,
        &w.rules,
        &PointRules::default(),
        period,
        early,
    );
    assert_eq!(
        pts.iter()
            .map(|m| (m.user.as_str(), m.total))
            .collect::<Vec<_>>(),
        vec![("analyst", 4)]
    );
}

#[test]
fn the_working_day_calendar_spans_a_weekend_and_a_holiday() {
    let mut w = World::new();
    w.rules.calendar.enabled = true;
    // Monday 2027-04-05 is a holiday (清明); Sunday 2027-04-11 a make-up working day.
    w.rules.calendar.holidays = vec![NaiveDate::from_ymd_opt(2027, 4, 5).unwrap()];
    w.rules.calendar.workdays = vec![NaiveDate::from_ymd_opt(2027, 4, 11).unwrap()];
    w.rules.validate().unwrap();
    // Found Friday 2027-04-02 18:00 Beijing (10:00 UTC).
    let found = Utc.with_ymd_and_hms(2027, 4, 2, 10, 0, 0).unwrap();
    w.clock.set(found);
    let mut c = w.register("cal", "analyst", false, manual());
    w.act(&mut c, "analyst", judge(Level::General, false));
    let answer = deadlines_for(&c, &w.rules)
        .into_iter()
        .find(|d| d.what == DeadlineKind::AnswerGeneral)
        .unwrap();
    // 6 h of Friday, Sat/Sun/holiday Monday skipped, 18 h of Tuesday → Tuesday 18:00 Beijing.
    assert_eq!(
        answer.due_at,
        Utc.with_ymd_and_hms(2027, 4, 6, 10, 0, 0).unwrap()
    );
    // Hours are elapsed time even with the calendar: forward within 2 h.
    let fwd = deadlines_for(&c, &w.rules)
        .into_iter()
        .find(|d| d.what == DeadlineKind::ForwardToDepartment)
        .unwrap();
    assert_eq!(fwd.due_at, found + Duration::hours(2));
    // Answered Tuesday 17:00 Beijing: on time.
    w.act(&mut c, "leader", assign("town-edu", None));
    w.clock
        .set(Utc.with_ymd_and_hms(2027, 4, 6, 8, 0, 0).unwrap());
    w.act(&mut c, "edu-liaison", handle(Outcome::Suggestion));
    w.act(&mut c, "edu-liaison", draft("ok"));
    w.act(&mut c, "leader", approve());
    w.act(&mut c, "spokes", reply("ok"));
    let answer = deadlines_for(&c, &w.rules)
        .into_iter()
        .find(|d| d.what == DeadlineKind::AnswerGeneral)
        .unwrap();
    assert_eq!(answer.status(w.clock.now()), DeadlineStatus::MetOnTime);
    // Without the calendar it would have been late (due Saturday 18:00).
    w.rules.calendar.enabled = false;
    let answer = deadlines_for(&c, &w.rules)
        .into_iter()
        .find(|d| d.what == DeadlineKind::AnswerGeneral)
        .unwrap();
    assert_eq!(answer.status(w.clock.now()), DeadlineStatus::MetLate);
}
