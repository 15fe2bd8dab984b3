//! Alerts across nodes (issue 7): two `yuqing process` nodes share one PostgreSQL
//! database and one bus; the one holding the `handling` lease follows alerts and delivers
//! them. Documents that hit a plan alert once, through a webhook on 127.0.0.1; the
//! leading node is killed with SIGKILL, documents keep coming, and the other node takes
//! the lease over and alerts on them from the stored cursor: every alert delivered exactly
//! once, none missed, none twice.
//!
//! Ignored by a plain `cargo test`; run with `cargo test -p yuqing --test leader --
//! --ignored` (needs PostgreSQL and NATS, as `distributed.rs`; fails, never skips).

mod cluster;
mod common;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use cluster::{Cluster, scalar};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Got = Arc<Mutex<Vec<Value>>>;

async fn receive(State(got): State<Got>, body: String) -> &'static str {
    got.lock()
        .expect("lock")
        .push(serde_json::from_str(&body).expect("json"));
    "ok"
}

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
    let got: Got = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(got.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
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
    other.stop("the surviving node", &other_dir);

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
    drop(leader_dir);
    cl.remove().await;
}
