//! The scheduled 日报 on a real store with an injected clock: not before its time, made
//! once at its time (also by a second server on the same database), announced to a real
//! webhook receiver and e-mailed with the Word file attached to a real SMTP sink on
//! 127.0.0.1; its figures are those of the stored documents; commentary edits and rebuilds
//! keep the analyst's text.

mod common;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use yuqing_core::{Assessment, FixedClock};
use yuqing_handling::cases::Principal;
use yuqing_handling::reports::{Inputs, ReportSettings, Reports, Spec};
use yuqing_ingest::transforms::judge::Judge;
use yuqing_report::Report;
use yuqing_store::conformance::event_doc;
use yuqing_store::{SqliteStore, Store};

/// 2026-05-06 (a Wednesday) 16:59 Beijing.
fn before() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 6, 8, 59, 0)
        .single()
        .expect("time")
}

async fn hook(State(got): State<Arc<Mutex<Vec<Value>>>>, body: String) -> &'static str {
    got.lock()
        .expect("lock")
        .push(serde_json::from_str(&body).expect("json"));
    "ok"
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

    // Two alerts that morning; a person finds the second a false alarm (误报).
    use yuqing_store::HandlingStore;
    use yuqing_store::handling::{AlertVerdict, NewAlert, Raised, Verdict};
    let mut alert_ids = Vec::new();
    for (event, level) in [(1, 3), (2, 1)] {
        let raised = store
            .raise_alerts(
                &[NewAlert {
                    event_id: event,
                    level,
                    rule: "校园".into(),
                    plan: Some("校园食品安全".into()),
                    seq: event,
                    at: before() - Duration::hours(2),
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

    let got = Arc::new(Mutex::new(Vec::new()));
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hook_addr = l.local_addr().expect("addr");
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(got.clone());
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
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
    let channels: Vec<_> = f
        .channels
        .iter()
        .map(|c| c.build().expect("channel"))
        .collect();
    let settings = ReportSettings {
        base_url: Some("http://yuqing.example.org".into()),
        ..ReportSettings::default()
    };

    let r = reports(&store, &clock);
    // 16:59: not yet.
    let ran = r
        .run_schedule(&settings, &channels)
        .await
        .expect("schedule");
    assert!(ran.is_empty(), "{ran:?}");
    // 17:01: made and announced on both channels.
    clock.advance(Duration::minutes(2));
    let mut ran = r
        .run_schedule(&settings, &channels)
        .await
        .expect("schedule");
    assert_eq!(
        ran.len(),
        1,
        "only the daily report on a Wednesday: {ran:?}"
    );
    let ran = ran.remove(0);
    let saved = ran.made;
    assert_eq!(ran.sent.len(), 2, "{:?}", ran.sent);
    assert!(ran.sent.iter().all(Result::is_ok), "{:?}", ran.sent);
    assert_eq!(saved.kind, "daily");
    assert_eq!(saved.created_by, "system");
    assert_eq!(saved.schedule_key.as_deref(), Some("daily:2026-05-06"));
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

    let hooks = got.lock().expect("lock").clone();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["type"], "report");
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
    let ran = r
        .run_schedule(&settings, &channels)
        .await
        .expect("schedule");
    assert!(ran.is_empty(), "{ran:?}");
    let other = reports(&store, &clock);
    assert!(
        other
            .run_schedule(&settings, &channels)
            .await
            .expect("schedule")
            .is_empty()
    );
    assert_eq!(got.lock().expect("lock").len(), 1, "announced once");

    // Saturday: no report without `weekends`.
    clock.set(
        Utc.with_ymd_and_hms(2026, 5, 9, 10, 0, 0)
            .single()
            .expect("sat"),
    );
    assert!(
        r.run_schedule(&settings, &channels)
            .await
            .expect("schedule")
            .is_empty()
    );

    // Monday 2026-06-01 09:30 Beijing: May's 月报 and the week before's 周报 (the 日报
    // waits for 17:00), each announced; the 周报 counts that week's documents.
    clock.set(
        Utc.with_ymd_and_hms(2026, 6, 1, 1, 30, 0)
            .single()
            .expect("mon"),
    );
    let ran = r
        .run_schedule(&settings, &channels)
        .await
        .expect("schedule");
    assert_eq!(
        ran.iter()
            .map(|x| x.made.schedule_key.as_deref().expect("key"))
            .collect::<Vec<_>>(),
        ["monthly:2026-05", "weekly:2026-W22"]
    );
    assert!(
        ran.iter()
            .all(|x| x.sent.len() == 2 && x.sent.iter().all(Result::is_ok))
    );
    let month: Report = serde_json::from_value(ran[0].made.model.clone()).expect("model");
    assert_eq!(month.figure("total"), Some(&V::Int(11)), "May's eleven");
    let week: Report = serde_json::from_value(ran[1].made.model.clone()).expect("model");
    assert_eq!(
        week.figure("total"),
        Some(&V::Int(0)),
        "nothing in 25–31 May"
    );
    let hooks = got.lock().expect("lock").clone();
    assert_eq!(hooks.len(), 3);
    assert!(
        hooks[1]["title"]
            .as_str()
            .expect("title")
            .contains("舆情月报")
    );
    assert!(
        hooks[2]["title"]
            .as_str()
            .expect("title")
            .contains("舆情周报")
    );
    assert!(
        r.run_schedule(&settings, &channels)
            .await
            .expect("schedule")
            .is_empty(),
        "each made once"
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
