//! The scheduled 日报 on a real store with an injected clock: not before its time, made
//! once at its time (also by a second server on the same database), announced through the
//! outbox to a real webhook receiver (retried when it is down) and e-mailed with the Word
//! file attached to a real SMTP sink on 127.0.0.1; a report saved but not announced is
//! announced at the next check, and one that cannot be made is reported to the office;
//! its figures are those of the stored documents; commentary edits and rebuilds keep the
//! analyst's text.

mod common;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use yuqing_alert::outbox::OutboxSettings;
use yuqing_core::{Assessment, FixedClock};
use yuqing_handling::cases::Principal;
use yuqing_handling::delivery::Dispatcher;
use yuqing_handling::reports::{Inputs, ReportSettings, Reports, Spec};
use yuqing_ingest::transforms::judge::Judge;
use yuqing_report::Report;
use yuqing_store::conformance::event_doc;
use yuqing_store::{SqliteStore, Store};

/// 2026-05-06 (a Wednesday) 16:59 Beijing.
fn before() -> DateTime<Utc> {
    utc(2026, 5, 6, 8, 59)
}

/// A time in UTC, to the minute.
fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("time")
}

/// A webhook receiver that refuses (503) the next `fail` requests, then keeps the bodies.
#[derive(Clone, Default)]
struct Hook {
    got: Arc<Mutex<Vec<Value>>>,
    fail: Arc<AtomicUsize>,
}

impl Hook {
    /// A receiver on 127.0.0.1 (POST `/hook`): its state and address.
    async fn serve() -> (Hook, std::net::SocketAddr) {
        let h = Hook::default();
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(h.clone());
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        (h, addr)
    }
}

async fn hook(State(h): State<Hook>, body: String) -> (StatusCode, &'static str) {
    if h.fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "down");
    }
    h.got
        .lock()
        .expect("lock")
        .push(serde_json::from_str(&body).expect("json"));
    (StatusCode::OK, "ok")
}

/// What one check of the schedule did.
async fn check(
    r: &Reports<SqliteStore>,
    settings: &ReportSettings,
    channels: &[String],
) -> Vec<yuqing_handling::reports::schedule::Ran> {
    r.run_schedule(settings, channels).await.expect("schedule")
}

fn reports(store: &Arc<SqliteStore>, clock: &Arc<FixedClock>) -> Reports<SqliteStore> {
    Reports::new(store.clone(), Judge::builtin(), clock.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_report_is_made_once_at_its_time_and_announced() {
    let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let clock = Arc::new(FixedClock::new(before()));
    // Ten documents of two events published that morning, four negative; one the day before.
    for i in 0..11 {
        let id = format!("d{i}");
        let event = if i < 6 { 1 } else { 2 };
        let mut d = event_doc(
            &id,
            &format!("县一中食堂 第{i}条 饭菜质量"),
            0,
            event,
            i == 0 || i == 6,
        );
        let age = if i == 10 {
            Duration::days(1)
        } else {
            Duration::hours(i + 1)
        };
        d.doc.published_at = Some((before() - age).fixed_offset());
        d.doc.url = Some(format!("https://weibo.com/1/{id}"));
        d.assessment = Assessment {
            sentiment: Some(if i % 3 == 0 { -1 } else { 0 }),
            ..Assessment::default()
        };
        store.insert(&[d], None).await.expect("insert");
    }

    // Two alerts that morning; a person finds the second a false alarm (误报). A third is
    // raised the next day: not the day's.
    use yuqing_store::HandlingStore;
    use yuqing_store::handling::{AlertVerdict, NewAlert, Raised, Verdict};
    let mut alert_ids = Vec::new();
    for (event, level, at) in [
        (1, 3, before() - Duration::hours(2)),
        (2, 1, before() - Duration::hours(2)),
        (3, 4, before() + Duration::hours(9)),
    ] {
        let raised = store
            .raise_alerts(
                &[NewAlert {
                    event_id: event,
                    level,
                    rule: "校园".into(),
                    plan: Some("校园食品安全".into()),
                    seq: event,
                    at,
                    message: serde_json::json!({ "title": format!("第{event}条预警") }),
                    deliveries: vec![],
                }],
                None,
            )
            .await
            .expect("alert");
        let [Raised::New(id)] = raised[..] else {
            panic!("{raised:?}")
        };
        alert_ids.push(id);
    }
    store
        .set_alert_verdict(
            alert_ids[1],
            &AlertVerdict::new(Verdict::FalseAlarm, "同名不同事", "analyst", before()),
        )
        .await
        .expect("verdict")
        .expect("alert");

    let (hook_state, hook_addr) = Hook::serve().await;
    let mails = Arc::new(Mutex::new(Vec::new()));
    let sl = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let smtp_port = sl.local_addr().expect("addr").port();
    tokio::spawn(common::smtp_sink(sl, mails.clone()));
    #[derive(serde::Deserialize)]
    struct File {
        channels: Vec<yuqing_alert::ChannelConfig>,
    }
    let f: File = toml::from_str(&format!(
        r#"
[[channels]]
type = "webhook"
name = "hook"
url = "http://{hook_addr}/hook"
timeout = "2s"

[[channels]]
type = "email"
name = "mail"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "yuqing@example.org"
to = ["leader@example.org"]
timeout = "5s"
"#
    ))
    .expect("channels");
    let settings = ReportSettings {
        base_url: Some("http://yuqing.example.org".into()),
        ..ReportSettings::default()
    };
    let names: Vec<&str> = f.channels.iter().map(|c| c.name()).collect();
    let channels = settings.channels_of(&names).expect("channels");
    assert_eq!(channels, ["hook", "mail"], "none named: every channel");
    let dispatcher = Dispatcher::new(
        store.clone(),
        clock.clone(),
        &f.channels,
        OutboxSettings::default(),
        Arc::new(Notify::new()),
    )
    .expect("dispatcher");

    let r = reports(&store, &clock);
    // 16:59: not yet.
    let ran = check(&r, &settings, &channels).await;
    assert!(ran.is_empty(), "{ran:?}");
    // 17:01: made, and its announcement queued for both channels. The webhook is down
    // for the first attempt: the e-mail goes, the webhook's is retried after 10 s.
    clock.advance(Duration::minutes(2));
    hook_state.fail.store(1, Ordering::SeqCst);
    let mut ran = check(&r, &settings, &channels).await;
    assert_eq!(
        ran.len(),
        1,
        "only the daily report on a Wednesday: {ran:?}"
    );
    let ran = ran.remove(0);
    assert_eq!((ran.key.as_str(), ran.queued), ("daily:2026-05-06", 2));
    let saved = ran.made.expect("made");
    assert_eq!(saved.kind, "daily");
    assert_eq!(saved.created_by, "system");
    assert_eq!(saved.schedule_key.as_deref(), Some("daily:2026-05-06"));
    let pass = dispatcher.drain().await.expect("send");
    assert_eq!((pass.delivered, pass.failed), (1, 1), "{pass:?}");
    assert!(hook_state.got.lock().expect("lock").is_empty());
    // The report's page says so: the e-mail delivered, the webhook failing and why.
    let said = r.announced(&saved).await.expect("announced");
    let by: Vec<_> = said
        .iter()
        .map(|a| (a.channel.as_str(), a.delivered_at.is_some(), a.attempts))
        .collect();
    assert_eq!(by, [("hook", false, 1), ("mail", true, 1)]);
    assert!(
        said[0].error.as_deref().is_some_and(|e| e.contains("503")),
        "{said:?}"
    );
    assert_eq!(said[1].error, None);
    clock.advance(Duration::seconds(10));
    let pass = dispatcher.drain().await.expect("send");
    assert_eq!((pass.delivered, pass.failed), (1, 0), "{pass:?}");
    let rows = store
        .outbox_of("report:daily:2026-05-06")
        .await
        .expect("outbox");
    let attempts: Vec<_> = rows
        .iter()
        .map(|o| (o.channel.as_str(), o.attempts, o.delivered_at.is_some()))
        .collect();
    assert_eq!(attempts, [("hook", 2, true), ("mail", 1, true)]);

    let report: Report = serde_json::from_value(saved.model.clone()).expect("model");
    use yuqing_report::Value as V;
    assert_eq!(
        report.figure("total"),
        Some(&V::Int(10)),
        "the day's ten, not the day before's"
    );
    assert_eq!(report.figure("previous_total"), Some(&V::Int(1)));
    // i % 3 == 0 among 0..10: 0, 3, 6, 9.
    assert_eq!(report.figure("negative"), Some(&V::Int(4)));
    assert_eq!(report.figure("events"), Some(&V::Int(2)));
    assert_eq!(report.figure("alerts"), Some(&V::Int(2)));
    assert_eq!(report.figure("alerts_major"), Some(&V::Int(1)));
    assert_eq!(report.figure("alerts_false_alarms"), Some(&V::Int(1)));
    let listed = report.table("alerts").expect("alert list");
    let verdict_col = listed
        .columns
        .iter()
        .position(|c| c == "研判")
        .expect("研判 column");
    let mut verdicts: Vec<_> = listed.rows.iter().map(|r| r[verdict_col].clone()).collect();
    verdicts.sort_by_key(|v| v.display());
    assert_eq!(verdicts, [V::Text(String::new()), V::Text("误报".into())]);

    let hooks = hook_state.got.lock().expect("lock").clone();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["type"], "report");
    assert_eq!(hooks[0]["notice_id"], "report:daily:2026-05-06");
    assert!(
        hooks[0]["title"]
            .as_str()
            .expect("title")
            .contains("舆情日报")
    );
    assert_eq!(
        hooks[0]["link"],
        format!(
            "http://yuqing.example.org/api/v1/reports/{}/export.docx",
            saved.id
        )
    );
    assert!(
        hooks[0]["text"].as_str().expect("text").contains("10 条"),
        "{}",
        hooks[0]
    );
    let mail = mails.lock().expect("lock").concat();
    assert!(mail.contains("multipart/mixed"), "the report is attached");
    assert!(
        mail.contains("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        "as a Word file"
    );

    // Later the same day, and from a second server on the same database: not again.
    clock.advance(Duration::hours(3));
    let ran = check(&r, &settings, &channels).await;
    assert!(ran.is_empty(), "{ran:?}");
    let other = reports(&store, &clock);
    assert!(check(&other, &settings, &channels).await.is_empty());
    dispatcher.drain().await.expect("send");
    assert_eq!(
        hook_state.got.lock().expect("lock").len(),
        1,
        "announced once"
    );

    // Thursday's 日报 was saved but the server stopped before queuing its announcement
    // (made here by hand under its key): the next check announces it.
    clock.set(utc(2026, 5, 7, 9, 5));
    let thursday = r
        .make_keyed(
            &Inputs::new(Spec::Daily {
                date: chrono::NaiveDate::from_ymd_opt(2026, 5, 7).expect("date"),
            }),
            &Principal::Operator,
            "system",
            None,
            Some("daily:2026-05-07".into()),
        )
        .await
        .expect("make")
        .expect("new");
    let ran = check(&r, &settings, &channels).await;
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(
        (ran[0].made.as_ref().expect("made").id, ran[0].queued),
        (thursday.id, 2),
        "the saved report, not a second one"
    );
    dispatcher.drain().await.expect("send");
    assert_eq!(hook_state.got.lock().expect("lock").len(), 2);
    assert!(
        check(&r, &settings, &channels).await.is_empty(),
        "announced once"
    );

    // Saturday: no report without `weekends`.
    clock.set(utc(2026, 5, 9, 10, 0));
    assert!(check(&r, &settings, &channels).await.is_empty());

    // Monday 2026-06-01 09:30 Beijing: May's 月报 and the week before's 周报 (the 日报
    // waits for 17:00), each announced; the 周报 counts that week's documents.
    clock.set(utc(2026, 6, 1, 1, 30));
    let ran = check(&r, &settings, &channels).await;
    assert_eq!(
        ran.iter().map(|x| x.key.as_str()).collect::<Vec<_>>(),
        ["monthly:2026-05", "weekly:2026-W22"]
    );
    assert!(ran.iter().all(|x| x.queued == 2), "{ran:?}");
    let made = |i: usize| ran[i].made.as_ref().expect("made");
    let month: Report = serde_json::from_value(made(0).model.clone()).expect("model");
    assert_eq!(month.figure("total"), Some(&V::Int(11)), "May's eleven");
    let week: Report = serde_json::from_value(made(1).model.clone()).expect("model");
    assert_eq!(
        week.figure("total"),
        Some(&V::Int(0)),
        "nothing in 25–31 May"
    );
    let pass = dispatcher.drain().await.expect("send");
    assert_eq!(pass.delivered, 4, "{pass:?}");
    let hooks = hook_state.got.lock().expect("lock").clone();
    assert_eq!(hooks.len(), 4);
    assert!(
        hooks[2]["title"]
            .as_str()
            .expect("title")
            .contains("舆情月报")
    );
    assert!(
        hooks[3]["title"]
            .as_str()
            .expect("title")
            .contains("舆情周报")
    );
    assert!(
        check(&r, &settings, &channels).await.is_empty(),
        "each made once"
    );

    // Tuesday's 日报 is saved under its key with a model this version cannot read (another
    // version wrote it): announced once by its title, not tried again every minute.
    clock.set(utc(2026, 6, 2, 9, 5));
    use yuqing_store::reports::{NewReport, ReportStore};
    let odd = store
        .put_report(&NewReport {
            kind: "daily".into(),
            title: "舆情日报".into(),
            subtitle: Some("2026年6月2日".into()),
            issue: None,
            inputs: serde_json::json!({}),
            model: serde_json::json!({ "format": 99 }),
            created_at: yuqing_core::Clock::now(&*clock),
            created_by: "system".into(),
            unit: None,
            schedule_key: Some("daily:2026-06-02".into()),
        })
        .await
        .expect("put")
        .expect("new");
    let ran = check(&r, &settings, &channels).await;
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(
        (ran[0].made.as_ref().expect("made").id, ran[0].queued),
        (odd.id, 2)
    );
    let before_odd = hook_state.got.lock().expect("lock").len();
    assert_eq!(dispatcher.drain().await.expect("send").delivered, 2);
    let hooks = hook_state.got.lock().expect("lock").clone();
    assert_eq!(hooks.len(), before_odd + 1);
    let last = &hooks[before_odd];
    assert_eq!(last["type"], "report", "{last}");
    assert!(
        last["title"]
            .as_str()
            .is_some_and(|t| t.contains("舆情日报（2026年6月2日）")),
        "{last}"
    );
    assert!(
        check(&r, &settings, &channels).await.is_empty(),
        "announced once"
    );

    // The analyst's commentary survives a rebuild; an empty text returns the draft.
    let mut c = BTreeMap::new();
    c.insert(
        "commentary".to_owned(),
        "经核实，系个别反映，已督促整改。".to_owned(),
    );
    let edited = r.edit(saved.id, c).await.expect("edit");
    let em: Report = serde_json::from_value(edited.model.clone()).expect("model");
    assert_eq!(
        em.figure("total"),
        report.figure("total"),
        "an edit keeps the figures"
    );
    let rebuilt = r.rebuild(edited.id).await.expect("rebuild");
    let m: Report = serde_json::from_value(rebuilt.model).expect("model");
    let draft = m
        .blocks()
        .find_map(|b| match b {
            yuqing_report::Block::Draft { text, edited, .. } => Some((text.clone(), *edited)),
            _ => None,
        })
        .expect("draft");
    assert_eq!(draft, ("经核实，系个别反映，已督促整改。".to_owned(), true));
    let mut bad = BTreeMap::new();
    bad.insert("nope".to_owned(), "x".to_owned());
    let e = r.edit(saved.id, bad).await.expect_err("unknown block");
    assert!(e.to_string().contains("commentary"), "{e}");
    let mut clear = BTreeMap::new();
    clear.insert("commentary".to_owned(), String::new());
    let back = r.edit(saved.id, clear).await.expect("clear");
    let m: Report = serde_json::from_value(back.model).expect("model");
    assert!(
        m.blocks()
            .any(|b| matches!(b, yuqing_report::Block::Draft { edited: false, .. }))
    );

    // A digest takes the next issue number; a missing document is a clear not-found.
    let digest = |items: &[&str]| {
        Inputs::new(Spec::Digest {
            issue: 0,
            items: items
                .iter()
                .map(|d| yuqing_handling::reports::DigestItem {
                    doc: (*d).to_owned(),
                    summary: None,
                })
                .collect(),
        })
    };
    let d1 = r
        .make(
            &digest(&["weibo:d1"]),
            &Principal::Operator,
            "analyst",
            None,
        )
        .await
        .expect("d1");
    let d2 = r
        .make(
            &digest(&["weibo:d2", "weibo:d3"]),
            &Principal::Operator,
            "analyst",
            None,
        )
        .await
        .expect("d2");
    assert_eq!((d1.issue, d2.issue), (Some(1), Some(2)));
    // Four analysts making the next digest at once get four numbers; a number already
    // taken, asked for by hand, is refused and says how to go on.
    let next = digest(&["weibo:d4"]);
    let make = || r.make(&next, &Principal::Operator, "analyst", None);
    let (a, b, c, d) = tokio::join!(make(), make(), make(), make());
    let mut issues: Vec<_> = [a, b, c, d]
        .into_iter()
        .map(|x| x.expect("digest made at once").issue)
        .collect();
    issues.sort();
    assert_eq!(issues, [Some(3), Some(4), Some(5), Some(6)]);
    let again = Inputs::new(Spec::Digest {
        issue: 2,
        items: vec![yuqing_handling::reports::DigestItem {
            doc: "weibo:d1".to_owned(),
            summary: None,
        }],
    });
    let e = r
        .make(&again, &Principal::Operator, "analyst", None)
        .await
        .expect_err("issue 2 is taken");
    assert_eq!(e.code(), yuqing_core::Code::Conflict, "{e}");
    assert!(e.to_string().contains("第 2 期摘报已存在"), "{e}");
    let e = r
        .make(
            &digest(&["weibo:nope"]),
            &Principal::Operator,
            "analyst",
            None,
        )
        .await
        .expect_err("missing");
    assert!(e.to_string().contains("weibo:nope"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_report_that_cannot_be_made_is_reported_once_and_tried_again() {
    let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let clock = Arc::new(FixedClock::new(before() + Duration::minutes(2)));
    let (hook_state, hook_addr) = Hook::serve().await;
    let configured: Vec<yuqing_alert::ChannelConfig> = vec![
        serde_json::from_value(serde_json::json!({
            "type": "webhook", "name": "hook", "url": format!("http://{hook_addr}/hook"),
        }))
        .expect("channel"),
    ];
    let settings = ReportSettings {
        base_url: Some("http://yuqing.example.org".into()),
        channels: vec!["hook".into()],
        ..ReportSettings::default()
    };
    let channels = settings.channels_of(&["hook"]).expect("channels");
    let dispatcher = Dispatcher::new(
        store.clone(),
        clock.clone(),
        &configured,
        OutboxSettings::default(),
        Arc::new(Notify::new()),
    )
    .expect("dispatcher");
    // Saving reports fails (as a full disk would); reading still works.
    sqlx::query(
        "CREATE TRIGGER no_reports BEFORE INSERT ON reports \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    .execute(store.pool())
    .await
    .expect("trigger");

    let r = reports(&store, &clock);
    for _ in 0..2 {
        let ran = check(&r, &settings, &channels).await;
        assert_eq!(ran.len(), 1, "{ran:?}");
        assert_eq!(ran[0].key, "daily:2026-05-06");
        let e = ran[0].made.as_ref().expect_err("not made");
        assert!(e.contains("disk is full"), "{e}");
        assert_eq!(ran[0].queued, 1);
        dispatcher.drain().await.expect("send");
        clock.advance(Duration::minutes(1));
    }
    let hooks = hook_state.got.lock().expect("lock").clone();
    assert_eq!(hooks.len(), 1, "told once, not every minute: {hooks:?}");
    assert_eq!(hooks[0]["type"], "notice");
    assert_eq!(hooks[0]["title"], "舆情日报（2026-05-06）未能生成");
    let text = hooks[0]["text"].as_str().expect("text");
    assert!(
        text.contains("disk is full") && text.contains("每分钟重试"),
        "{text}"
    );
    assert_eq!(hooks[0]["link"], "http://yuqing.example.org/#/reports");

    // Mended: the next check makes it and announces it.
    sqlx::query("DROP TRIGGER no_reports")
        .execute(store.pool())
        .await
        .expect("drop trigger");
    let ran = check(&r, &settings, &channels).await;
    assert!(ran[0].made.is_ok(), "{ran:?}");
    dispatcher.drain().await.expect("send");
    let hooks = hook_state.got.lock().expect("lock").clone();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[1]["type"], "report");
    assert!(
        hooks[1]["title"]
            .as_str()
            .expect("title")
            .contains("舆情日报")
    );
}
