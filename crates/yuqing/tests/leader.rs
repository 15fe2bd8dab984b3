//! Work that must be done by one node at a time, across nodes (issue 7), with leases in
//! the shared PostgreSQL database:
//! - alerts: two `yuqing process` nodes share one database and one bus; the one holding
//!   the `handling` lease follows alerts and delivers them. Documents that hit a plan
//!   alert once, through a webhook on 127.0.0.1; the leading node is killed with SIGKILL,
//!   documents keep coming, and the other node takes the lease over and alerts on them
//!   from the stored cursor: every alert delivered exactly once, none missed, none twice;
//! - case deadlines and the daily report: the leader dies before a case's reminders are
//!   due; the other node sends them, once each, and does not make the day's report again;
//! - retention: the lease holder drops the months before `[retention] keep_months` and
//!   every node's index forgets their documents;
//! - sources: two `yuqing collect` nodes run the same two feeds; each feed is polled by
//!   one of them; the one polling a feed is killed, the other takes the feed over and
//!   goes on from the committed checkpoint (its first request carries the ETag of the
//!   last batch published), and the bus holds each item once.
//!
//! Ignored by a plain `cargo test`; run with `cargo test -p yuqing --test leader --
//! --ignored` (needs PostgreSQL and NATS, as `distributed.rs`; fails, never skips).

mod cluster;
mod common;

use axum::Router;
use axum::extract::State;
use cluster::{Cluster, scalar};
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Got;

fn leads(data: &Path) -> bool {
    std::fs::read_to_string(data.with_extension("log"))
        .unwrap_or_default()
        .contains("this node leads")
}

fn posts(dir: &Path, name: &str, prefix: &str, texts: &[&str]) -> String {
    let now = chrono::Utc::now().to_rfc3339();
    let lines: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": format!("{prefix}{i}"), "platform": "weibo", "kind": "post",
                   "published_at": now, "url": format!("https://weibo.com/9/{prefix}{i}"),
                   "text": t})
            .to_string()
        })
        .collect();
    common::write_lines(dir, name, &lines)
        .to_str()
        .expect("utf8")
        .to_owned()
}

/// Waits until the webhook got `n` messages (or fails after a minute, saying what the
/// database holds and what the nodes logged).
async fn wait_for(got: &Got, n: usize, what: &str, c: &mut sqlx::PgConnection, logs: &[&Path]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.lock().expect("lock").len() < n {
        if Instant::now() > deadline {
            let docs: Vec<(i64, String, Option<i64>)> =
                sqlx::query_as("SELECT seq, id, event_id FROM documents ORDER BY seq")
                    .fetch_all(&mut *c)
                    .await
                    .unwrap_or_default();
            let alerts: Vec<(i64, i64)> = sqlx::query_as("SELECT event_id, level FROM alerts")
                .fetch_all(&mut *c)
                .await
                .unwrap_or_default();
            let cursors: Vec<(String, i64)> = sqlx::query_as("SELECT name, value FROM counters")
                .fetch_all(&mut *c)
                .await
                .unwrap_or_default();
            let logs: Vec<String> = logs
                .iter()
                .map(|l| std::fs::read_to_string(l.with_extension("log")).unwrap_or_default())
                .collect();
            panic!(
                "{what}: {} of {n} alerts delivered after 60 s\ndocuments {docs:?}\n\
                 alerts {alerts:?}\ncursors {cursors:?}\nlogs {logs:#?}",
                got.lock().expect("lock").len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: cargo test -p yuqing --test leader -- --ignored"]
async fn one_node_alerts_and_another_takes_over_when_it_dies() {
    let (got, hook) = common::webhook().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[[plans]]
name = "医疗"
expression = "医院"

[[plans]]
name = "校园"
expression = "学校|食堂"

[[alert_rules]]
name = "全部"
plans = ["医疗", "校园"]

[[channels]]
type = "webhook"
name = "值班"
url = "http://{hook}/hook"

# No scheduled reports here: their announcements would reach the webhook too.
[report]
daily_at = ""
weekly_at = ""
monthly_at = ""
"#
        ),
    )
    .expect("config");
    let cfg = cfg.to_str().expect("utf8");
    let cl = Cluster::new("yuqing_lead").await;
    let (a, b) = (tmp.path().join("node-a"), tmp.path().join("node-b"));
    let na = cl.processor(&a, &["--config", cfg]);
    let nb = cl.processor(&b, &["--config", cfg]);
    let mut c = cl.connect_when_ready().await;
    // Exactly one node leads.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !leads(&a) && !leads(&b) {
        assert!(Instant::now() < deadline, "no node took the handling lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!(leads(&a) && leads(&b)), "both nodes lead");
    let (leader, leader_dir, other, other_dir) = if leads(&a) {
        (na, a, nb, b)
    } else {
        (nb, b, na, a)
    };

    // Phase 1: documents that hit the plans alert once each (per event and level).
    let first = posts(
        tmp.path(),
        "one.jsonl",
        "m",
        &["某县人民医院急诊科排队三小时无人管，患者家属质疑医院管理混乱，要求卫健部门调查"],
    );
    cl.collect(&first);
    wait_for(&got, 1, "phase 1", &mut c, &[&leader_dir, &other_dir]).await;
    // Killed only once the delivery is recorded: one killed between the webhook's answer
    // and the record is sent again after its claim lease (2 min; at least once, in order
    // per channel), which this test does not wait for.
    let deadline = Instant::now() + Duration::from_secs(60);
    while scalar(
        &mut c,
        "SELECT count(*) FROM outbox WHERE delivered_at IS NULL",
    )
    .await
        > 0
    {
        assert!(Instant::now() < deadline, "the delivery was not recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The leader dies; documents keep coming (the other node stores them).
    leader.kill();
    let second = posts(
        tmp.path(),
        "two.jsonl",
        "s",
        &["某中学食堂饭菜变质多名学生腹泻住院，家长聚集校门口要求学校公开说明"],
    );
    let collected = cl.collect(&second);
    assert_eq!(collected["published"], 1, "{collected}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !leads(&other_dir) {
        assert!(
            Instant::now() < deadline,
            "the other node did not take the lease over within 60 s: {}",
            std::fs::read_to_string(other_dir.with_extension("log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for(
        &got,
        2,
        "after the leader died",
        &mut c,
        &[&leader_dir, &other_dir],
    )
    .await;
    // Let any second delivery arrive before counting.
    tokio::time::sleep(Duration::from_secs(4)).await;
    other.stop("the surviving node");

    let received = got.lock().expect("lock").clone();
    let mut per_alert: HashMap<String, usize> = HashMap::new();
    for m in &received {
        *per_alert
            .entry(m["alert_id"].as_str().expect("alert_id").to_owned())
            .or_default() += 1;
    }
    assert!(
        per_alert.values().all(|&n| n == 1),
        "an alert delivered twice: {per_alert:?}"
    );
    let stored = scalar(&mut c, "SELECT count(*) FROM alerts").await;
    assert_eq!(
        stored as usize,
        per_alert.len(),
        "every stored alert delivered once: {received:?}"
    );
    let plans: Vec<&str> = received.iter().filter_map(|m| m["plan"].as_str()).collect();
    assert!(plans.contains(&"医疗"), "{plans:?}");
    assert!(
        plans.contains(&"校园"),
        "the document stored after the leader died alerted: {plans:?}"
    );
    drop(c);
    cl.remove().await;
}

/// A feed whose items the test adds; answers 304 to the current ETag and records the
/// `If-None-Match` of every request.
#[derive(Default)]
struct Feed {
    items: Vec<String>,
    seen: Vec<Option<String>>,
}

type Feeds = Arc<Mutex<HashMap<String, Feed>>>;

async fn serve_feed(
    State(feeds): State<Feeds>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let name = name.trim_end_matches(".xml").to_owned();
    let mut feeds = feeds.lock().expect("lock");
    let feed = feeds.entry(name.clone()).or_default();
    let tag = format!("\"{name}-{}\"", feed.items.len());
    let asked = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    feed.seen.push(asked.clone());
    if asked.as_deref() == Some(tag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
    }
    let items: String = feed
        .items
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "<item><title>{t}</title><link>http://{name}.example/{i}</link>\
                 <guid>{name}-{i}</guid><description>{t}，正文 {i}</description>\
                 <pubDate>Sun, 22 Nov 2026 09:00:00 +0800</pubDate></item>"
            )
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml".to_owned()),
            (header::ETAG, tag),
        ],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>\
             <title>{name}</title>{items}</channel></rss>"
        ),
    )
        .into_response()
}

fn polls(log: &Path, source: &str) -> bool {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(&format!("this collector polls {source}\n"))
}

async fn wait_until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond().await {
        assert!(Instant::now() < deadline, "{what} (after 60 s)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: cargo test -p yuqing --test leader -- --ignored"]
async fn each_source_has_one_collector_and_moves_on_with_its_checkpoint() {
    let feeds: Feeds = Arc::default();
    for (name, texts) in [
        (
            "north",
            ["北部某县暴雨致道路积水", "北部某县启动防汛应急响应"],
        ),
        (
            "south",
            ["南部某市地铁故障停运", "南部某市通报地铁故障原因"],
        ),
    ] {
        feeds
            .lock()
            .expect("lock")
            .entry(name.into())
            .or_default()
            .items = texts.iter().map(|t| t.to_string()).collect();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/{name}", axum::routing::get(serve_feed))
        .with_state(feeds.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("yuqing.toml");
    let source = |name: &str| {
        format!(
            "[[sources]]\nname = \"{name}\"\ntype = \"feed\"\nurl = \"http://{addr}/{name}.xml\"\n\
             interval = \"1s\"\ntimeout = \"5s\"\nmin_host_interval = \"0s\"\n\
             respect_robots = false\nallow_hosts = [\"{addr}\"]\n"
        )
    };
    std::fs::write(&cfg, source("north") + &source("south")).expect("config");
    let cfg = cfg.to_str().expect("utf8");
    let cl = Cluster::new("yuqing_coll").await;
    let (la, lb) = (tmp.path().join("a.log"), tmp.path().join("b.log"));
    let ca = cl.collector(&la, cfg);
    let cb = cl.collector(&lb, cfg);
    let bus = &cl.bus;
    wait_until("every item of both feeds on the bus", async || {
        bus.stream_counts().await.map(|(n, _)| n).unwrap_or(0) == 4
    })
    .await;
    for s in ["north", "south"] {
        wait_until(&format!("a collector polls {s}"), async || {
            polls(&la, s) || polls(&lb, s)
        })
        .await;
        assert!(
            !(polls(&la, s) && polls(&lb, s)),
            "both collectors poll {s}"
        );
    }
    // The collector polling north is killed; the other must take north over.
    let (victim, survivor, survivor_log) = if polls(&la, "north") {
        (ca, cb, lb)
    } else {
        (cb, ca, la)
    };
    // Wait for a conditional poll (the checkpoint's ETag in use), then kill its collector.
    wait_until("a conditional poll of north", async || {
        feeds.lock().expect("lock")["north"]
            .seen
            .iter()
            .any(|s| s.as_deref() == Some("\"north-2\""))
    })
    .await;
    victim.kill();
    let asked_before = feeds.lock().expect("lock")["north"].seen.len();
    feeds
        .lock()
        .expect("lock")
        .get_mut("north")
        .expect("north")
        .items
        .push("北部某县转移群众三千人".into());
    wait_until("the surviving collector takes north over", async || {
        polls(&survivor_log, "north")
    })
    .await;
    wait_until("the new item on the bus, once", async || {
        bus.stream_counts().await.map(|(n, _)| n).unwrap_or(0) == 5
    })
    .await;
    // The survivor's first request to north carried the checkpoint the victim committed.
    let seen = feeds.lock().expect("lock")["north"].seen.clone();
    assert_eq!(
        seen[asked_before].as_deref(),
        Some("\"north-2\""),
        "the new collector went on from the committed checkpoint: {seen:?}"
    );
    // A while later, still each item once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(bus.stream_counts().await.expect("counts").0, 5);
    survivor.stop("the surviving collector");
    cl.remove().await;
}

const ORG: &str = r#"
[[units]]
id = "town"
name = "某镇"
kind = "organisation"

[[users]]
id = "analyst"
name = "监测员"
grants = [{ unit = "town", role = "analyst" }]
"#;

/// Case deadlines and the daily report are kept by the lease holder: a negative case is
/// registered, the leader is killed before its first reminder is due, and the other node
/// takes over and sends the 催办 and the 督办 once each; the daily report (due at once:
/// `daily_at = "00:00"`) is made once across both nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: cargo test -p yuqing --test leader -- --ignored"]
async fn case_deadlines_are_kept_when_the_leader_dies() {
    use yuqing_handling::cases::{Cases, NewCase, Origin, Principal};
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("yuqing.toml");
    // Spans are whole minutes: the leading group must hear of a negative item within
    // 2 min of its discovery, 催办 1 min before.
    let deadlines = "notify_leading_group = \"2m\"\nremind_before = \"1m\"\n";
    std::fs::write(
        &cfg,
        format!(
            "[deadlines]\n{deadlines}\n[report]\ndaily_at = \"00:00\"\nweekends = true\n\
             weekly_at = \"\"\nmonthly_at = \"\"\n"
        ),
    )
    .expect("config");
    let cfg = cfg.to_str().expect("utf8");
    let cl = Cluster::new("yuqing_dead").await;
    let (a, b) = (tmp.path().join("node-a"), tmp.path().join("node-b"));
    let na = cl.processor(&a, &["--config", cfg]);
    let nb = cl.processor(&b, &["--config", cfg]);
    let mut c = cl.connect_when_ready().await;
    wait_until("a node takes the handling lease", async || {
        leads(&a) || leads(&b)
    })
    .await;
    let (leader, other, other_dir) = if leads(&a) { (na, nb, b) } else { (nb, na, a) };
    wait_until("the leader makes the daily report", async || {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM reports WHERE schedule_key LIKE 'daily:%'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap_or(0)
            == 1
    })
    .await;

    let store = Arc::new(
        yuqing_store::PgStore::connect(&cl.db)
            .await
            .expect("connect"),
    );
    let cases = Cases::new(
        store,
        Arc::new(yuqing_core::SystemClock),
        toml::from_str(deadlines).expect("rules"),
    );
    cases
        .import_org(ORG, &Principal::Operator)
        .await
        .expect("org");
    let case = cases
        .register(
            NewCase {
                unit: "town".into(),
                source: Origin::Manual {
                    channel: yuqing_workflow::case::ManualChannel::Hotline,
                },
                title: Some("镇中学门口道路塌陷".into()),
                summary: "12345 热线反映，家长担心学生安全".into(),
                link: None,
                negative: true,
                media_report: false,
                occurred_at: None,
                // Found 50 s ago: 催办 due in 10 s, 督办 in 70 s.
                collected_at: Some(chrono::Utc::now() - chrono::Duration::seconds(50)),
            },
            "analyst",
        )
        .await
        .expect("register");
    let registered = Instant::now();
    leader.kill();
    assert!(
        registered.elapsed() < Duration::from_secs(10),
        "the leader must die before the first reminder is due"
    );
    assert_eq!(scalar(&mut c, "SELECT count(*) FROM reminders").await, 0);
    wait_until("the other node takes the lease over", async || {
        leads(&other_dir)
    })
    .await;
    // The timer runs every 30 s: both reminders within about 100 s of registration.
    async fn sent(c: &mut sqlx::PgConnection, case: &str) -> Vec<(String, String)> {
        sqlx::query_as("SELECT kind, what FROM reminders WHERE case_id = $1 ORDER BY kind")
            .bind(case)
            .fetch_all(c)
            .await
            .expect("reminders")
    }
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let r = sent(&mut c, &case.id).await;
        if r.len() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reminders after 150 s: {r:?}; log: {}",
            std::fs::read_to_string(other_dir.with_extension("log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sent(&mut c, &case.id).await,
        vec![
            ("supervise".to_owned(), "notify_leading_group".to_owned()),
            ("urge".to_owned(), "notify_leading_group".to_owned()),
        ],
        "催办 and 督办, once each"
    );
    assert_eq!(
        scalar(
            &mut c,
            "SELECT count(*) FROM audit WHERE action = 'case.remind'"
        )
        .await,
        2
    );
    assert_eq!(
        scalar(
            &mut c,
            "SELECT count(*) FROM reports WHERE schedule_key LIKE 'daily:%'"
        )
        .await,
        1,
        "the daily report is made once, not again by the new leader"
    );
    other.stop("the surviving node");
    drop(c);
    cl.remove().await;
}

/// Retention (`[retention] keep_months`): the lease holder drops the months before the
/// cut-off from PostgreSQL, and every node's index forgets their documents, while the
/// recent ones stay stored and searchable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and NATS: cargo test -p yuqing --test leader -- --ignored"]
async fn retention_drops_old_months_from_the_store_and_the_indexes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, "[retention]\nkeep_months = 1\n").expect("config");
    let cfg = cfg.to_str().expect("utf8");
    let cl = Cluster::new("yuqing_keep").await;
    // Stored before the nodes start: three documents ingested in January 2025, two now.
    let store = yuqing_store::PgStore::connect(&cl.db)
        .await
        .expect("connect");
    common::store_old_and_new(&store).await;
    drop(store);
    let (a, b) = (tmp.path().join("node-a"), tmp.path().join("node-b"));
    let na = cl.processor(&a, &["--config", cfg]);
    let nb = cl.processor(&b, &["--config", cfg]);
    let mut c = cl.connect_when_ready().await;
    wait_until("the old month dropped from the store", async || {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM documents")
            .fetch_one(&mut c)
            .await
            .unwrap_or(-1)
            == 2
    })
    .await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM documents ORDER BY id")
        .fetch_all(&mut c)
        .await
        .expect("ids");
    assert_eq!(ids, ["new1", "new2"]);
    assert_eq!(
        scalar(&mut c, "SELECT count(*) FROM document_ids").await,
        2,
        "the dropped documents' identities go too"
    );
    let count = |node: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_yuqing"))
            .env_remove("YUQING_DATA")
            .env_remove("YUQING_CONFIG")
            .args(["count", "水库", "--database", &cl.db, "--data"])
            .arg(node)
            .output()
            .expect("count");
        // Before the node made its index, the error (shown if it never does).
        if out.status.success() {
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        } else {
            String::from_utf8_lossy(&out.stderr).into_owned()
        }
    };
    for node in [&a, &b] {
        wait_until(
            &format!("the index of {} forgets the dropped month", node.display()),
            async || count(node) == "1",
        )
        .await;
    }
    na.stop("node a");
    nb.stop("node b");
    drop(c);
    cl.remove().await;
}
