//! `yuqing serve` as a real child process: a feed source polled from a local HTTP server,
//! the watched import directory, the push endpoint, source health, and a clean stop on
//! SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>县融媒体中心</title>
<item><title>县医院开通夜间门诊</title><link>http://news.local/a/1?utm_source=feed</link><guid>a1</guid>
<pubDate>Wed, 01 May 2024 08:00:00 +0800</pubDate><description>&lt;p&gt;县医院今起开通夜间门诊，方便群众就医。&lt;/p&gt;</description></item>
<item><title>城区道路施工公告</title><link>http://news.local/a/2</link><guid>a2</guid><description>城区部分道路施工</description></item>
</channel></rss>"#;

mod common;

/// A local server answering `/feed.xml` with [`FEED`]; its address.
async fn feed_server() -> std::net::SocketAddr {
    let app = axum::Router::new().route(
        "/feed.xml",
        axum::routing::get(|| async { ([("content-type", "application/rss+xml")], FEED) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("feed server") });
    addr
}

async fn get_json(c: &reqwest::Client, url: &str) -> serde_json::Value {
    c.get(url)
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

/// Polls `f` until it returns true or 60 s pass; on timeout shows the server's log.
async fn eventually(what: &str, log: &std::path::Path, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    panic!("timed out waiting for {what}; server log:\n{tail}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_collects_from_feed_inbox_and_push() {
    let feed_addr = feed_server().await;

    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
push_tokens = ["t0ken"]
[ingest]
index_commit_secs = 1
[import_dir]
interval = "1s"
[[sources]]
name = "县融媒"
type = "feed"
url = "http://{feed_addr}/feed.xml"
interval = "1s"
allow_hosts = ["{feed_addr}"]
respect_robots = false
[[sources]]
name = "坏源"
type = "feed"
url = "http://127.0.0.1:9/nothing.xml"
interval = "1s"
"#
        ),
    )
    .expect("config");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(data.join("inbox")).expect("inbox");
    std::fs::write(
        data.join("inbox/drop.jsonl"),
        "{\"id\":\"i1\",\"platform\":\"forum\",\"text\":\"网友反映县医院夜间门诊排队\"}\n{\"id\":\"i2\",\"platform\":\"forum\",\"text\":\"第二条\"}\n",
    )
    .expect("inbox file");

    let log_path = tmp.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_yuqing"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data",
            data.to_str().expect("u"),
            "--config",
            cfg.to_str().expect("u"),
            "--log",
            "info",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    // Keep the pipe open for the whole test.
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut line).expect("read");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();

    // Feed items and the inbox file arrive by themselves.
    eventually("feed and inbox documents", &log_path, async || {
        get_json(&c, &format!("{base}/api/v1/count?q=%E5%8C%BB%E9%99%A2")).await["count"] == 2
    })
    .await;
    // Pushed documents too.
    let r = c
        .post(format!("{base}/api/v1/documents"))
        .bearer_auth("t0ken")
        .body("{\"id\":\"p1\",\"platform\":\"weibo\",\"text\":\"县医院夜间门诊真方便\"}\n")
        .send()
        .await
        .expect("push");
    assert_eq!(r.status(), 200);
    eventually("pushed document", &log_path, async || {
        get_json(&c, &format!("{base}/api/v1/count?q=%E5%8C%BB%E9%99%A2")).await["count"] == 3
    })
    .await;

    // Health: the good source polled, the unreachable one counts failures; others unaffected.
    eventually("source health", &log_path, async || {
        let v = get_json(&c, &format!("{base}/api/v1/sources")).await;
        let by = |n: &str| v["sources"].as_array().and_then(|a| a.iter().find(|s| s["health"]["name"] == n).cloned());
        matches!((by("县融媒"), by("坏源")), (Some(g), Some(b))
            if g["health"]["documents"] == 2 && g["health"]["consecutive_failures"] == 0
            && b["health"]["consecutive_failures"].as_i64().unwrap_or(0) >= 1 && b["health"]["last_error"].is_string())
    })
    .await;
    let m = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for name in [
        "yuqing_pipeline_stored_total",
        "yuqing_pipeline_stage_seconds",
        "yuqing_index_seq",
        "yuqing_import_items_total",
        "yuqing_source_fetches_total",
    ] {
        assert!(m.contains(name), "{name} missing from /metrics:\n{m}");
    }

    // SIGTERM: a clean stop.
    let pid = child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
    // Everything is still there after the stop, and the feed's canonical URL dropped utm_source.
    let out = Command::new(env!("CARGO_BIN_EXE_yuqing"))
        .args(["export", "--data", data.to_str().expect("u")])
        .output()
        .expect("export");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 5, "{text}");
}

/// `yuqing sources --check`: each configured source polled once, nothing stored.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_check_polls_once_and_says_what_failed() {
    let feed_addr = feed_server().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[[sources]]
name = "县融媒"
type = "feed"
url = "http://{feed_addr}/feed.xml"
allow_hosts = ["{feed_addr}"]
respect_robots = false
[[sources]]
name = "内网源"
type = "feed"
url = "http://127.0.0.1:9/nothing.xml"
[[sources]]
name = "停用源"
type = "feed"
url = "http://127.0.0.1:9/off.xml"
enabled = false
"#
        ),
    )
    .expect("config");
    let data = tmp.path().join("data");
    let run = |args: Vec<String>| {
        let (cfg, data) = (cfg.clone(), data.clone());
        tokio::task::spawn_blocking(move || {
            common::bin()
                .arg("--config")
                .arg(&cfg)
                .arg("--data")
                .arg(&data)
                .args(args)
                .output()
                .expect("run yuqing")
        })
    };
    let out = run(vec!["sources".into(), "--check".into()])
        .await
        .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One source failed: exit 1; both enabled ones reported, the disabled one not polled.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✓ 县融媒：2 条"), "{stdout}");
    assert!(stdout.contains("县医院开通夜间门诊"), "{stdout}");
    assert!(
        stdout.contains("✗ 内网源：") && stdout.contains("allow_hosts"),
        "{stdout}"
    );
    assert!(!stdout.contains("停用源"), "{stdout}");
    // Nothing was stored: no data directory was even made.
    assert!(!data.exists(), "sources --check wrote a data directory");

    // One named source, as JSON: exit 0.
    let out = run(vec![
        "sources".into(),
        "--check".into(),
        "--json".into(),
        "县融媒".into(),
    ])
    .await
    .expect("join");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["ok"], true);
    assert_eq!(v["documents"], 2);
    assert_eq!(v["newest"][0]["title"], "县医院开通夜间门诊");

    // A name that is not configured, and names without --check: clear errors.
    let out = run(vec!["sources".into(), "--check".into(), "无此源".into()])
        .await
        .expect("join");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("没有名为") && err.contains("县融媒"), "{err}");
    let out = run(vec!["sources".into(), "县融媒".into()])
        .await
        .expect("join");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--check"));
}

/// `[retention] keep_months` on the embedded store: `serve` deletes the documents ingested
/// before the cut-off from SQLite, and its index forgets them, while the recent ones stay
/// stored and searchable.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_applies_retention_to_its_sqlite_store_and_index() {
    use yuqing_store::Store;
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    // Stored before serve starts: three documents ingested in January 2025, two now.
    let db = data.join("yuqing.db");
    {
        let store = yuqing_store::SqliteStore::open(&db).await.expect("open");
        common::store_old_and_new(&store).await;
    }
    let _server = common::serve_with(&data, tmp.path(), "[retention]\nkeep_months = 1\n");
    let log = tmp.path().join("serve.log");
    let count = || {
        let out = Command::new(env!("CARGO_BIN_EXE_yuqing"))
            .env_remove("YUQING_DATA")
            .env_remove("YUQING_CONFIG")
            .args(["count", "水库", "--data"])
            .arg(&data)
            .output()
            .expect("count");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    eventually(
        "the index forgets the deleted documents",
        &log,
        async || count() == "1",
    )
    .await;
    let store = yuqing_store::SqliteStore::open_read_only(&db)
        .await
        .expect("read only");
    assert_eq!(store.count().await.expect("count"), 2);
    assert!(store.get("weibo", "old1").await.expect("get").is_none());
    assert!(store.get("weibo", "new1").await.expect("get").is_some());
    let said = std::fs::read_to_string(&log).expect("log");
    assert!(
        said.contains("retention: dropped 3 documents"),
        "serve says what it deleted: {said}"
    );
    assert!(
        !said.contains("applies to a PostgreSQL store only"),
        "no warning that retention does nothing: {said}"
    );
    drop(store);
    drop(_server);

    // Retention while no writer runs (here by hand: everything before 2100 but the newest,
    // which always stays): `check` tells the index's leftovers from damage, and the next
    // writer removes them at start, with no `[retention]` in its configuration.
    let check = || {
        let out = Command::new(env!("CARGO_BIN_EXE_yuqing"))
            .env_remove("YUQING_DATA")
            .env_remove("YUQING_CONFIG")
            .args(["check", "--data"])
            .arg(&data)
            .output()
            .expect("check");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("check json");
        (out.status.success(), v)
    };
    let store = yuqing_store::SqliteStore::open(&db).await.expect("open");
    let r = store
        .drop_documents_before(chrono::NaiveDate::from_ymd_opt(2100, 1, 1).expect("date"))
        .await
        .expect("retention");
    assert_eq!(r.documents, 1, "new1 goes, new2 (the newest) stays");
    drop(store);
    let (ok, v) = check();
    assert!(ok, "leftovers of retention are not damage: {v}");
    assert_eq!(v["deleted_by_retention"], 1, "{v}");
    assert_eq!(v["not_stored"], 0, "{v}");
    let _server = common::serve_with(&data, tmp.path(), "");
    eventually("the next writer forgets them", &log, async || {
        count() == "0"
    })
    .await;
    drop(_server);
    let (ok, v) = check();
    assert!(ok, "{v}");
    assert_eq!(v["deleted_by_retention"], 0, "{v}");
}
