//! Alerts end to end on a real store, with an injected clock: rules applied to stored
//! items, one alert per event and level, quiet hours, delivery from the stored outbox to
//! real local servers (a webhook receiver and an SMTP sink on 127.0.0.1) that are down
//! and come back, and escalation along the duty roster.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use yuqing_core::{Assessment, Clock, FixedClock};
use yuqing_handling::HandlingSettings;
use yuqing_handling::alerting::Alerter;
use yuqing_handling::delivery::Dispatcher;
use yuqing_handling::escalation::Escalator;
use yuqing_judge::spike::SpikeSettings;
use yuqing_store::conformance::event_doc;
use yuqing_store::handling::{AlertQuery, NewDutySlot};
use yuqing_store::{HandlingStore, LevelRecord, NewPlan, SqliteStore, Store};

/// 2026-05-06 10:00 Beijing.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 6, 2, 0, 0)
        .single()
        .expect("time")
}

#[derive(Clone, Default)]
struct Hook {
    down: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<Value>>>,
    refused: Arc<Mutex<usize>>,
}

async fn hook(State(h): State<Hook>, body: String) -> StatusCode {
    if h.down.load(Ordering::SeqCst) {
        *h.refused.lock().expect("lock") += 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    h.got
        .lock()
        .expect("lock")
        .push(serde_json::from_str(&body).expect("json body"));
    StatusCode::OK
}

async fn serve_hook(h: Hook) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new().route("/hook", post(hook)).with_state(h);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn settings(toml_text: &str) -> HandlingSettings {
    toml::from_str(toml_text).expect("settings")
}

struct World {
    store: Arc<SqliteStore>,
    clock: Arc<FixedClock>,
    wake: Arc<Notify>,
    seq: i64,
}

impl World {
    async fn new() -> Self {
        let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
        store
            .put_plan(&NewPlan {
                name: "校园食品".into(),
                expression: "食堂".into(),
                structured: None,
                active: true,
                origin: "cli".into(),
                by: None,
            })
            .await
            .expect("plan");
        Self {
            store,
            clock: Arc::new(FixedClock::new(t0())),
            wake: Arc::new(Notify::new()),
            seq: 0,
        }
    }

    /// Stores one item of `event` published `age` before now, and grades its event up to
    /// it (as the pipeline does).
    async fn item(
        &mut self,
        event: i64,
        text: &str,
        hit: bool,
        negative_behaviour: bool,
        age: Duration,
    ) {
        self.stored(event, text, hit, negative_behaviour, age).await;
        // As the pipeline does after storing: the event is graded up to this member.
        let seq = self.store.max_seq().await.expect("seq");
        self.store.mark_graded(&[event], seq).await.expect("graded");
    }

    /// Stores one item of `event` published `age` before now, its grading still to come.
    async fn stored(
        &mut self,
        event: i64,
        text: &str,
        hit: bool,
        negative_behaviour: bool,
        age: Duration,
    ) {
        self.seq += 1;
        let id = format!("d{}", self.seq);
        let founds = self
            .store
            .events_by_id(&[event])
            .await
            .expect("ev")
            .is_empty();
        let mut d = event_doc(&id, text, 0, event, founds);
        d.doc.published_at = Some((self.clock.now() - age).fixed_offset());
        d.doc.url = Some(format!("https://weibo.com/1/{id}"));
        d.ingested_at = self.clock.now();
        d.assessment = Assessment {
            sentiment: Some(if negative_behaviour { -1 } else { 0 }),
            content_type: Some(if negative_behaviour { 4 } else { 2 }),
            ..Assessment::default()
        };
        if hit {
            d.plan_hits = vec![(1, vec!["食堂".into()])];
        }
        self.store.insert(&[d], None).await.expect("insert");
    }

    async fn level(&self, event: i64, code: i64) {
        self.store
            .set_level(
                event,
                &LevelRecord {
                    level: code,
                    rule: "test".into(),
                    reason: format!("测试定级 {code}"),
                    reason_en: format!("test level {code}"),
                    at: self.clock.now(),
                    by: None,
                },
            )
            .await
            .expect("level");
    }

    async fn alerter(&self, s: &HandlingSettings) -> Alerter<SqliteStore> {
        Alerter::new(
            self.store.clone(),
            self.clock.clone(),
            s,
            SpikeSettings::default(),
            self.wake.clone(),
        )
        .await
        .expect("alerter")
    }

    fn dispatcher(&self, s: &HandlingSettings) -> Dispatcher<SqliteStore> {
        Dispatcher::new(
            self.store.clone(),
            self.clock.clone(),
            &s.channels,
            s.alerts.outbox.clone(),
            self.wake.clone(),
        )
        .expect("dispatcher")
    }
}

#[tokio::test]
async fn rules_raise_one_alert_per_event_and_level() {
    let mut w = World::new().await;
    let s = settings("");
    w.item(100, "旧闻：食堂", true, false, Duration::zero())
        .await;
    // Created after the first item: starts at the newest document (history never pages).
    let mut a = w.alerter(&s).await;
    assert_eq!(a.step().await.expect("step").scanned, 0);

    w.level(100, 3).await; // major
    w.item(100, "某中学食堂饭菜变质", true, false, Duration::hours(1))
        .await;
    w.item(
        100,
        "转发：食堂饭菜变质",
        true,
        false,
        Duration::minutes(30),
    )
    .await;
    let step = a.step().await.expect("step");
    assert_eq!(step.scanned, 2);
    assert_eq!(
        step.raised.len(),
        1,
        "two items of one event and level: one alert"
    );
    assert_eq!(step.updated, 1);
    let alert = w
        .store
        .alert(step.raised[0])
        .await
        .expect("get")
        .expect("row");
    assert_eq!((alert.event_id, alert.level, alert.hits), (100, 3, 2));
    assert_eq!(alert.rule, "major_any_plan");
    assert_eq!(alert.plan.as_deref(), Some("校园食品"));
    assert_eq!(alert.message["level"], "major");
    assert!(
        alert.message["why"]
            .as_str()
            .expect("why")
            .contains("测试定级 3"),
        "the message explains the grading: {}",
        alert.message["why"]
    );

    // A level rise makes a new alert; an old item (beyond max_age) none; a negative
    // behavioural item of an ungraded event, even without a plan, a general one.
    w.level(100, 4).await;
    w.item(100, "食堂事件升级", true, false, Duration::zero())
        .await;
    w.item(200, "十天前的食堂", true, false, Duration::days(10))
        .await;
    w.level(200, 4).await;
    w.item(
        300,
        "明天去政府门口拉横幅讨说法",
        false,
        true,
        Duration::zero(),
    )
    .await;
    w.item(400, "食堂今天的菜不错", true, false, Duration::zero())
        .await;
    let step = a.step().await.expect("step");
    assert_eq!(step.raised.len(), 2, "{step:?}");
    let rows = w.store.alerts(&AlertQuery::default()).await.expect("list");
    let mut got: Vec<(i64, i64, String)> = rows
        .iter()
        .map(|r| (r.event_id, r.level, r.rule.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (100, 3, "major_any_plan".into()),
            (100, 4, "major_any_plan".into()),
            (300, 1, "negative_behaviour".into()),
        ]
    );
    // The cursor is stored: a new follower does not raise them again.
    let mut again = w.alerter(&s).await;
    assert_eq!(again.cursor(), a.cursor());
    assert_eq!(again.catch_up().await.expect("step").scanned, 0);
    // Each raise is in the audit log.
    let audit = w.store.audit(0, 0).await.expect("audit");
    assert_eq!(
        audit.iter().filter(|e| e.action == "alert.raise").count(),
        3
    );
}

/// The pipeline stores an item, then grades its event: the follower waits for the grading
/// (else the alert would carry the level of the moment before, and a second alert follow),
/// and goes on without it only when the writer never graded (it died in between).
#[tokio::test]
async fn an_item_waits_for_its_events_grading() {
    let mut w = World::new().await;
    let s = settings("");
    let mut a = w.alerter(&s).await;
    w.stored(100, "某中学食堂饭菜变质", true, false, Duration::zero())
        .await;
    let step = a.step().await.expect("step");
    assert_eq!((step.scanned, a.cursor()), (0, 0), "waits: {step:?}");
    w.level(100, 4).await;
    w.store.mark_graded(&[100], 1).await.expect("graded");
    let step = a.step().await.expect("step");
    assert_eq!((step.scanned, step.raised.len()), (1, 1), "{step:?}");
    let alert = w
        .store
        .alert(step.raised[0])
        .await
        .expect("get")
        .expect("row");
    assert_eq!(alert.level, 4, "the alert has the level the grading gave");

    // A grading that never comes (the writer died) is waited for only so long.
    w.stored(
        200,
        "明天去政府门口拉横幅讨说法",
        false,
        true,
        Duration::zero(),
    )
    .await;
    assert_eq!(a.step().await.expect("step").scanned, 0);
    w.clock.advance(Duration::seconds(5));
    assert_eq!(a.step().await.expect("step").scanned, 0);
    w.clock.advance(Duration::seconds(6));
    let step = a.step().await.expect("step");
    assert_eq!((step.scanned, step.raised.len()), (1, 1), "{step:?}");
    assert_eq!(a.cursor(), 2);
}

#[tokio::test]
async fn outbox_delivers_in_order_once_after_channels_come_back() {
    let mut w = World::new().await;
    let h = Hook::default();
    h.down.store(true, Ordering::SeqCst);
    let addr = serve_hook(h.clone()).await;
    // A port with nothing listening: the mail server is down.
    let smtp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let smtp_addr = smtp.local_addr().expect("addr");
    drop(smtp);
    let s = settings(&format!(
        r#"
[[channels]]
type = "webhook"
name = "hook"
url = "http://{addr}/hook"
timeout = "2s"
{mail}"#,
        mail = mail_channel(smtp_addr, "duty@example.org"),
    ));
    let mut a = w.alerter(&s).await;
    for (k, ev) in [(1, 11), (2, 12), (3, 13)] {
        w.item(ev, &format!("第{k}条 食堂"), true, false, Duration::zero())
            .await;
        w.level(ev, 3).await;
    }
    let raised = a.step().await.expect("step").raised;
    assert_eq!(raised.len(), 3);
    let d = w.dispatcher(&s);

    let p = d.pass().await.expect("pass");
    assert_eq!((p.delivered, p.failed), (0, 2), "both channels down");
    // Before the retry is due nothing is tried.
    w.clock.advance(Duration::seconds(5));
    assert_eq!(d.pass().await.expect("pass").failed, 0);
    w.clock.advance(Duration::seconds(6));
    assert_eq!(
        d.pass().await.expect("pass").failed,
        2,
        "retried after 10 s"
    );

    // Both come back.
    h.down.store(false, Ordering::SeqCst);
    let mails = Arc::new(Mutex::new(Vec::new()));
    let listener = TcpListener::bind(smtp_addr)
        .await
        .expect("rebind smtp port");
    tokio::spawn(common::smtp_sink(listener, mails.clone()));
    w.clock.advance(Duration::seconds(31));
    let p = d.drain().await.expect("drain");
    assert_eq!(p.delivered, 6, "3 alerts × 2 channels");
    assert_eq!(w.store.outbox_pending().await.expect("pending"), 0);
    // Nothing is sent twice.
    w.clock.advance(Duration::hours(1));
    assert_eq!(d.drain().await.expect("drain").delivered, 0);

    let got = h.got.lock().expect("lock").clone();
    let ids: Vec<String> = got
        .iter()
        .map(|v| v["alert_id"].as_str().expect("alert_id").to_owned())
        .collect();
    let want: Vec<String> = raised.iter().map(|i| i.to_string()).collect();
    assert_eq!(ids, want, "in order, each once");
    assert_eq!(
        *h.refused.lock().expect("lock"),
        2,
        "two refused attempts of the head"
    );
    assert_eq!(got[0]["level"], "major");
    let mails = mails.lock().expect("lock").clone();
    assert_eq!(mails.len(), 3);
    // Every attempt is logged with the entry.
    let entries = w.store.outbox_of(&want[0]).await.expect("of");
    for e in &entries {
        let log = e.body["log"].as_array().expect("log");
        assert_eq!(log.len(), 3, "{}: two failures then delivered", e.channel);
        assert_eq!(log[0]["state"], "failed");
        assert_eq!(log[2]["state"], "delivered");
    }
}

#[tokio::test]
async fn quiet_hours_hold_messages_except_especially_major() {
    let mut w = World::new().await;
    let h = Hook::default();
    let addr = serve_hook(h.clone()).await;
    let s = settings(&format!(
        r#"
[alerts.quiet_hours]
from = "22:00"
to = "07:00"

[[channels]]
type = "webhook"
name = "hook"
url = "http://{addr}/hook"
"#
    ));
    // 23:30 Beijing.
    w.clock.set(
        Utc.with_ymd_and_hms(2026, 5, 6, 15, 30, 0)
            .single()
            .expect("t"),
    );
    let mut a = w.alerter(&s).await;
    w.item(1, "食堂 重大", true, false, Duration::zero()).await;
    w.level(1, 3).await;
    w.item(2, "食堂 特别重大", true, false, Duration::zero())
        .await;
    w.level(2, 4).await;
    assert_eq!(a.step().await.expect("step").raised.len(), 2);
    let d = w.dispatcher(&s);
    assert_eq!(d.drain().await.expect("drain").delivered, 1);
    assert_eq!(h.got.lock().expect("lock")[0]["level"], "especially_major");
    // 07:00 Beijing the next morning.
    w.clock.set(
        Utc.with_ymd_and_hms(2026, 5, 6, 23, 0, 0)
            .single()
            .expect("t"),
    );
    assert_eq!(d.drain().await.expect("drain").delivered, 1);
    assert_eq!(h.got.lock().expect("lock")[1]["level"], "major");
}

#[tokio::test]
async fn unacknowledged_alerts_escalate_along_the_duty_roster() {
    let mut w = World::new().await;
    let h = Hook::default();
    let addr = serve_hook(h.clone()).await;
    let smtp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let smtp_addr = smtp.local_addr().expect("addr");
    let mails = Arc::new(Mutex::new(Vec::<String>::new()));
    tokio::spawn(common::smtp_sink(smtp, mails.clone()));
    let s = settings(&format!(
        r#"
[alerts.escalation]
duty = ["fallback"]
after = "15m"

# A rule of the office's after the built-in ones: major items also @ the leading group
# (the built-in major_any_plan matches first and names the alert; both count).
[[alert_rules]]
name = "重大告知领导"
min_level = "major"
mention_roles = ["领导小组"]

[[channels]]
type = "webhook"
name = "hook"
url = "http://{addr}/hook"
{mail}"#,
        mail = mail_channel(smtp_addr, "office@example.org"),
    ));
    s.check_mention_roles().expect("roles");
    let slot = |user: &str, pos: i64| NewDutySlot {
        unit: "county".into(),
        user: user.into(),
        starts_at: t0() - Duration::hours(1),
        ends_at: t0() + Duration::hours(8),
        position: pos,
        note: String::new(),
    };
    // wang, li and the leader boss have mobile numbers: the alerts (which tell wang, first
    // on duty) @ wang and, by the rule, boss; the notice telling li @s li. li and boss also
    // have e-mail addresses: the mails copy them where the robots @ them.
    let person = |id: &str, mobile: Option<&str>| yuqing_workflow::org::User {
        id: id.into(),
        name: id.into(),
        grants: vec![],
        mobile: mobile.map(Into::into),
        email: matches!(id, "li" | "boss").then(|| format!("{id}@example.org")),
        feishu: (id == "li").then(|| "ou_li".to_owned()),
    };
    let boss = yuqing_workflow::org::User {
        grants: vec![yuqing_workflow::org::Grant {
            unit: "county".into(),
            role: yuqing_workflow::Role::Leader,
        }],
        ..person("boss", Some("13900003333"))
    };
    w.store
        .put_org(
            &[yuqing_workflow::org::Unit {
                id: "county".into(),
                name: "某县".into(),
                kind: yuqing_workflow::org::UnitKind::Organisation,
                parent: None,
            }],
            &[
                person("wang", Some("13700000000")),
                person("li", Some("13800001111")),
                person("zhao", None),
                boss,
            ],
            vec![],
        )
        .await
        .expect("org");
    w.store
        .add_duty(&[slot("wang", 0), slot("li", 1), slot("zhao", 2)], vec![])
        .await
        .expect("duty");
    let mut a = w.alerter(&s).await;
    w.item(1, "食堂 重大", true, false, Duration::zero()).await;
    w.level(1, 3).await;
    let first = a.step().await.expect("step").raised;
    w.item(2, "食堂 另一事件", true, false, Duration::zero())
        .await;
    w.level(2, 3).await;
    let second = a.step().await.expect("step").raised;
    let e = Escalator::new(w.store.clone(), w.clock.clone(), &s, w.wake.clone()).expect("esc");
    let d = w.dispatcher(&s);

    let n = e.step().await.expect("step");
    assert_eq!(
        n.iter()
            .map(|n| (n.step, n.who.as_str()))
            .collect::<Vec<_>>(),
        vec![(0, "wang"), (0, "wang")],
        "person 0 is responsible at once (the alert itself told them)"
    );
    assert_eq!(
        d.drain().await.expect("drain").delivered,
        4,
        "the two alerts, by webhook and by mail"
    );

    // The second alert is acknowledged in time; the first is not.
    w.clock.advance(Duration::minutes(10));
    w.store
        .ack_alert(second[0], "wang", w.clock.now())
        .await
        .expect("ack");
    w.clock.advance(Duration::minutes(6));
    let n = e.step().await.expect("step");
    assert_eq!(
        n.iter()
            .map(|n| (n.alert_id, n.step, n.who.as_str()))
            .collect::<Vec<_>>(),
        vec![(first[0], 1, "li")]
    );
    assert!(e.step().await.expect("again").is_empty(), "told once");
    assert_eq!(d.drain().await.expect("drain").delivered, 2);
    let got = h.got.lock().expect("lock").clone();
    assert_eq!(got[2]["alert_id"], format!("notice:{}:1", first[0]));
    assert!(
        got[2]["text"].as_str().expect("text").contains("升级提醒"),
        "{}",
        got[2]
    );
    assert_eq!(got[2]["mention"], serde_json::json!(["13800001111"]));
    assert_eq!(
        got[2]["mention_email"],
        serde_json::json!(["li@example.org"])
    );
    assert_eq!(got[2]["mention_feishu"], serde_json::json!(["ou_li"]));
    for alert in &got[..2] {
        assert_eq!(
            alert["mention"],
            serde_json::json!(["13700000000", "13900003333"]),
            "an alert itself @s the first on duty, then the rule's leading group: {alert}"
        );
        assert_eq!(
            alert["mention_email"],
            serde_json::json!(["boss@example.org"])
        );
    }
    // The mails: the alerts copy boss (wang has no address), the notice copies li.
    let mails = mails.lock().expect("lock").clone();
    assert_eq!(mails.len(), 3);
    let cc = |m: &str| {
        m.lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix("Cc: "))
            .map(str::to_owned)
    };
    assert_eq!(
        cc(&mails[0]).as_deref(),
        Some("boss@example.org"),
        "{}",
        mails[0]
    );
    assert_eq!(cc(&mails[1]).as_deref(), Some("boss@example.org"));
    assert_eq!(
        cc(&mails[2]).as_deref(),
        Some("li@example.org"),
        "{}",
        mails[2]
    );

    // Acknowledged before the next step: nobody else is told.
    w.clock.advance(Duration::minutes(5));
    w.store
        .ack_alert(first[0], "li", w.clock.now())
        .await
        .expect("ack");
    w.clock.advance(Duration::minutes(30));
    assert!(e.step().await.expect("step").is_empty());
    let audit = w.store.audit(0, 0).await.expect("audit");
    assert_eq!(
        audit.iter().filter(|e| e.action == "alert.notify").count(),
        3
    );
    yuqing_workflow::audit::verify(&audit).expect("chain intact");

    // The performance points: the first alert went past wang (li was told at 16 min); li
    // acknowledged it in time. Nobody registered a case, so that is all there is.
    let cases = yuqing_handling::cases::Cases::new(
        w.store.clone(),
        w.clock.clone(),
        yuqing_workflow::DeadlineRules::default(),
    );
    let day = yuqing_workflow::stats::Period {
        from: t0() - Duration::hours(1),
        to: t0() + Duration::days(1),
    };
    let passed = cases.passed_alerts(day).await.expect("passed");
    assert_eq!(
        passed
            .iter()
            .map(|p| (p.alert_id, p.who.as_str(), p.at))
            .collect::<Vec<_>>(),
        vec![(first[0], "wang", t0() + Duration::minutes(16))]
    );
    assert!(passed[0].title.contains("食堂"), "{:?}", passed[0]);
    let s = cases
        .stats(
            &yuqing_handling::cases::Principal::Operator,
            day,
            w.clock.now(),
        )
        .await
        .expect("stats");
    assert_eq!(
        s.points
            .iter()
            .map(|m| (m.user.as_str(), m.total))
            .collect::<Vec<_>>(),
        vec![("wang", -1)]
    );
    // A period that starts after wang was told (at 0) and before li was (at 16 min) still
    // counts the pass: it is dated by the notice that passed wang.
    let from_5 = yuqing_workflow::stats::Period {
        from: t0() + Duration::minutes(5),
        to: day.to,
    };
    assert_eq!(
        cases
            .passed_alerts(from_5)
            .await
            .expect("passed")
            .iter()
            .map(|p| p.who.as_str())
            .collect::<Vec<_>>(),
        ["wang"]
    );
    // A period after the notice holds nothing.
    let later = yuqing_workflow::stats::Period {
        from: day.to,
        to: day.to + Duration::days(1),
    };
    assert!(cases.passed_alerts(later).await.expect("later").is_empty());
}

#[tokio::test]
async fn special_periods_mean_24_hour_duty_without_quiet_hours() {
    let mut w = World::new().await;
    let h = Hook::default();
    let addr = serve_hook(h.clone()).await;
    let s = settings(&format!(
        r#"
special_periods = [{{ name = "两会", start = "2026-05-01", end = "2026-05-10" }}]

[alerts.quiet_hours]
from = "22:00"
to = "07:00"

[[channels]]
type = "webhook"
name = "hook"
url = "http://{addr}/hook"
"#
    ));
    // 23:30 Beijing, inside the special period.
    w.clock.set(
        Utc.with_ymd_and_hms(2026, 5, 6, 15, 30, 0)
            .single()
            .expect("t"),
    );
    let mut a = w.alerter(&s).await;
    w.item(1, "食堂 重大", true, false, Duration::zero()).await;
    w.level(1, 3).await;
    assert_eq!(a.step().await.expect("step").raised.len(), 1);
    assert_eq!(
        w.dispatcher(&s).drain().await.expect("drain").delivered,
        1,
        "a major alert at night goes out at once during a special period"
    );
}

/// An `[[channels]]` table named `mail`: plain SMTP to the sink at `addr`, sending to `to`.
fn mail_channel(addr: SocketAddr, to: &str) -> String {
    format!(
        r#"
[[channels]]
type = "email"
name = "mail"
host = "127.0.0.1"
port = {port}
tls = "none"
from = "yuqing@example.org"
to = ["{to}"]
timeout = "2s"
"#,
        port = addr.port()
    )
}
