//! Fault injection (issue 8): processes killed at the worst moments.
//!
//! - `serve` killed with SIGKILL while documents are being pushed: every push answered 200
//!   is stored, none twice; `yuqing check` tells what the index lacks, `check --repair`
//!   makes the directory consistent, and a restarted `serve` takes the same documents again
//!   without storing any twice.
//! - `import` killed with SIGKILL half-way: running the same import again stores every
//!   document of the file exactly once and the index matches the store.
//! - A process dying inside an index commit (segments written, meta file not: the
//!   `index-commit` failpoint, see `yuqing_core::failpoint`), in `import` and in `serve`:
//!   nothing stored is lost, the next writer catches the index up, search finds it all.
//! - Hostile sources beside a good one in a running `serve`: one that hangs, one that
//!   answers garbage, one that redirects in a loop, one that serves 100 MB. Each is marked
//!   failing with a message saying what happened; the good source keeps its schedule.

mod common;

use common::{bin, first_events, run, write_lines};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const TOKEN: &str = "f4ult-t0ken";

fn check(d: &str, repair: bool) -> (bool, Value) {
    let mut c = bin();
    c.args(["check", "--data", d]);
    if repair {
        c.arg("--repair");
    }
    let out = c.output().expect("run check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check printed no JSON ({e}): {err}"));
    (out.status.success(), v)
}

/// Pushes batch `batch` (50 posts); their ids when the server answered 200.
async fn push(c: &reqwest::Client, base: &str, batch: usize) -> Option<Vec<String>> {
    let ids: Vec<String> = (0..50).map(|i| format!("crash-{batch}-{i}")).collect();
    (common::push_posts(c, base, TOKEN, &ids, "崩溃测试文档").await == Some(200)).then_some(ids)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_while_ingesting_loses_nothing_and_check_repairs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = write_lines(tmp.path(), "ced.jsonl", &first_events(5));
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8").to_owned();
    run(&[
        "import",
        src.to_str().expect("utf8"),
        "--data",
        &d,
        "--json",
    ]);
    let config = format!(
        "[server]\npush_tokens = [\"{TOKEN}\"]\n[report]\ndaily_at = \"\"\nweekly_at = \"\"\nmonthly_at = \"\"\n"
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();

    let mut srv = common::serve(tmp.path(), &config);
    let base = srv.base.clone();
    // Pushes go on concurrently; the server is killed while some are in flight.
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let mut inflight = tokio::task::JoinSet::new();
    for batch in 0..40 {
        let (c, base) = (c.clone(), base.clone());
        inflight.spawn(async move { push(&c, &base, batch).await });
        if batch == 25 {
            srv.child.kill().expect("SIGKILL serve");
        }
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
    while let Some(r) = inflight.join_next().await {
        if let Some(ids) = r.expect("task") {
            acked.extend(ids);
        }
    }
    let _ = srv.child.wait();
    drop(srv);
    assert!(
        !acked.is_empty(),
        "some pushes were answered before the kill"
    );

    // Every answered push is stored, none twice.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{d}/yuqing.db?mode=ro"))
        .await
        .expect("open");
    let stored: BTreeSet<String> =
        sqlx::query_scalar("SELECT id FROM documents WHERE id LIKE 'crash-%'")
            .fetch_all(&pool)
            .await
            .expect("ids")
            .into_iter()
            .collect();
    pool.close().await;
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "answered but not stored: {lost:?}");
    let (_, v) = check(&d, false);
    assert_eq!(v["database_ok"], true, "{v}");
    assert_eq!(v["doubled_identities"], json!([]), "{v}");
    assert_eq!(v["not_stored"], 0, "{v}");
    assert_eq!(v["doubled_in_index"], 0, "{v}");
    assert_eq!(v["audit_ok"], true, "{v}");

    // --repair: consistent, every stored document in the index.
    let (ok, v) = check(&d, true);
    assert!(ok, "check --repair: {v}");
    assert_eq!(v["pending"], 0, "{v}");
    assert_eq!(v["missing_from_index"], 0, "{v}");
    assert_eq!(v["indexed"], v["documents"], "{v}");
    let (ok, _) = check(&d, false);
    assert!(ok, "consistent afterwards");

    // A restarted serve takes the same documents again without storing any twice.
    let srv = common::serve(tmp.path(), &config);
    for batch in 0..40 {
        assert!(
            push(&c, &srv.base, batch).await.is_some(),
            "batch {batch} after restart"
        );
    }
    drop(srv);
    let (ok, v) = check(&d, true);
    assert!(ok, "{v}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{d}/yuqing.db?mode=ro"))
        .await
        .expect("open");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE id LIKE 'crash-%'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(n, 40 * 50, "every batch once");
}

/// Opens the store read-only (while another process may be writing it).
async fn ro(d: &str) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{d}/yuqing.db?mode=ro"))
        .await
        .expect("open read-only")
}

async fn scalar(pool: &sqlx::SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or(0)
}

/// The distinct (platform, id) identities of a JSONL slice.
fn identities(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("json");
            format!(
                "{}:{}",
                v["platform"].as_str().unwrap_or("weibo"),
                v["id"].as_str().expect("id")
            )
        })
        .collect()
}

/// Asserts the store holds exactly `want` (each once) and the index matches it.
async fn assert_exact(d: &str, want: &BTreeSet<String>) {
    let pool = ro(d).await;
    let got: Vec<String> = sqlx::query_scalar("SELECT platform || ':' || id FROM documents")
        .fetch_all(&pool)
        .await
        .expect("ids");
    pool.close().await;
    let set: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(got.len(), set.len(), "a document stored twice");
    let lost: Vec<&String> = want.difference(&set).take(5).collect();
    assert!(
        lost.is_empty(),
        "{} lost, e.g. {lost:?}",
        want.difference(&set).count()
    );
    assert_eq!(set.len(), want.len(), "stored documents not in the file");
    let (ok, v) = check(d, false);
    assert!(ok, "check after recovery: {v}");
    assert_eq!(v["indexed"], json!(want.len()), "{v}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_killed_half_way_then_run_again_stores_each_document_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(80);
    let want = identities(&lines);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let d = tmp.path().join("data").to_str().expect("utf8").to_owned();
    let mut child = bin()
        .args([
            "import",
            src.to_str().expect("utf8"),
            "--data",
            &d,
            "--json",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn import");
    // Killed once a good part, but not all, is stored.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut stored_at_kill = 0;
    while std::time::Instant::now() < deadline {
        if tmp.path().join("data/yuqing.db").exists() {
            let pool = ro(&d).await;
            stored_at_kill = scalar(&pool, "SELECT COUNT(*) FROM documents").await;
            pool.close().await;
            if stored_at_kill >= 3_000 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the import ended before it could be killed ({stored_at_kill} stored)"
    );
    child.kill().expect("SIGKILL import");
    let _ = child.wait();
    assert!((stored_at_kill as usize) < want.len(), "killed half-way");

    // The directory is sound (the database, no identity twice); the index may lag.
    let (_, v) = check(&d, false);
    assert_eq!(v["database_ok"], true, "{v}");
    assert_eq!(v["doubled_identities"], json!([]), "{v}");
    assert_eq!(v["doubled_in_index"], 0, "{v}");
    // The same import again: what was stored counts as duplicates, the rest is stored.
    let out = run(&[
        "import",
        src.to_str().expect("utf8"),
        "--data",
        &d,
        "--json",
    ]);
    let summary: Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("summary"),
    )
    .expect("summary json");
    assert_eq!(summary["rejected"], 0, "{summary}");
    assert!(
        summary["duplicates"].as_u64().expect("dups") >= stored_at_kill as u64,
        "{summary}"
    );
    assert_exact(&d, &want).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_dying_inside_an_index_commit_loses_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(5);
    let want = identities(&lines);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let d = tmp.path().join("data").to_str().expect("utf8").to_owned();
    let out = bin()
        .args([
            "import",
            src.to_str().expect("utf8"),
            "--data",
            &d,
            "--json",
        ])
        .env("YUQING_FAILPOINTS", "index-commit")
        .output()
        .expect("run import");
    assert!(!out.status.success(), "the failpoint killed the import");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("failpoint index-commit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Everything is stored; the index has not got it yet, and check says so.
    let pool = ro(&d).await;
    assert_eq!(
        scalar(&pool, "SELECT COUNT(*) FROM documents").await,
        want.len() as i64
    );
    pool.close().await;
    let (ok, v) = check(&d, false);
    assert!(!ok, "the index lags the store: {v}");
    assert_eq!(v["pending"], json!(want.len()), "{v}");
    // The next reader (any search) catches the index up first.
    run(&["count", "谣言", "--data", &d]);
    assert_exact(&d, &want).await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_dying_inside_an_index_commit_loses_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let d = tmp.path().join("data").to_str().expect("utf8").to_owned();
    let config = format!(
        "[server]\npush_tokens = [\"{TOKEN}\"]\n[ingest]\nindex_commit_secs = 1\n[report]\ndaily_at = \"\"\nweekly_at = \"\"\nmonthly_at = \"\"\n"
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, &config).expect("config");
    let mut child = bin()
        .args(["serve", "--bind", "127.0.0.1:0", "--data", &d, "--config"])
        .arg(&cfg)
        .env("YUQING_FAILPOINTS", "index-commit@2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(tmp.path().join("serve.log")).expect("log"))
        .spawn()
        .expect("spawn serve");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).expect("listening line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening")
        .to_owned();
    // Pushes, a batch every 100 ms, until the server dies in its second index commit.
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut batch = 0;
    while std::time::Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if let Some(ids) = push(&c, &base, batch).await {
            acked.extend(ids);
        }
        batch += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let status = child.wait().expect("wait");
    assert!(!status.success(), "serve died at the failpoint");
    let log = std::fs::read_to_string(tmp.path().join("serve.log")).unwrap_or_default();
    assert!(log.contains("failpoint index-commit"), "{log}");
    assert!(!acked.is_empty(), "some pushes were answered before");
    let want: BTreeSet<String> = acked.iter().map(|i| format!("weibo:{i}")).collect();

    // Restarted: every answered push is there once, and search finds every one of them.
    let srv = common::serve(tmp.path(), &config);
    drop(srv);
    let pool = ro(&d).await;
    let stored: BTreeSet<String> =
        sqlx::query_scalar("SELECT platform || ':' || id FROM documents")
            .fetch_all(&pool)
            .await
            .expect("ids")
            .into_iter()
            .collect();
    pool.close().await;
    let lost: Vec<&String> = want.difference(&stored).collect();
    assert!(lost.is_empty(), "answered but lost: {lost:?}");
    let (ok, v) = check(&d, false);
    assert!(ok, "the restarted server caught the index up: {v}");
    assert_eq!(v["indexed"], v["documents"], "{v}");
    let out = run(&["count", "崩溃测试文档", "--data", &d]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        stored.len().to_string(),
        "search finds every stored push"
    );
}

/// An RSS feed whose items are new at every poll (`n` is the poll number).
fn feed(n: usize) -> String {
    let items: String = (0..3)
        .map(|i| {
            format!(
                "<item><title>好源第{n}次第{i}条</title><link>http://good.example/{n}/{i}</link>\
                 <guid>good-{n}-{i}</guid><description>好源正文 {n} {i}</description>\
                 <pubDate>Sun, 22 Nov 2026 09:00:00 +0800</pubDate></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>好源</title>{items}</channel></rss>"
    )
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sources_are_marked_failing_and_the_good_one_keeps_its_schedule() {
    use axum::body::Body;
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let app = axum::Router::new()
        .route(
            "/good.xml",
            get(move || {
                let n = p.fetch_add(1, Ordering::SeqCst);
                async move { ([(header::CONTENT_TYPE, "application/rss+xml")], feed(n)) }
            }),
        )
        .route(
            "/hang.xml",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                "never"
            }),
        )
        .route(
            "/garbage.xml",
            get(|| async {
                let bytes: Vec<u8> = (0..200_000u32)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                    .collect();
                ([(header::CONTENT_TYPE, "application/rss+xml")], bytes)
            }),
        )
        .route(
            "/loop.xml",
            get(|| async {
                (StatusCode::FOUND, [(header::LOCATION, "/loop.xml")]).into_response()
            }),
        )
        .route(
            "/huge.xml",
            get(|| async {
                // 100 MB in 64 KiB chunks, produced as the client reads.
                let chunk = axum::body::Bytes::from(vec![b'a'; 65_536]);
                let stream = futures::stream::iter(
                    (0..1600).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                );
                Response::builder()
                    .header(header::CONTENT_TYPE, "application/rss+xml")
                    .body(Body::from_stream(stream))
                    .expect("response")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let source = |name: &str| {
        format!(
            "[[sources]]\nname = \"{name}\"\ntype = \"feed\"\nurl = \"http://{addr}/{name}.xml\"\n\
             interval = \"1s\"\ntimeout = \"2s\"\nmin_host_interval = \"0s\"\nrespect_robots = false\n\
             allow_hosts = [\"{addr}\"]\n"
        )
    };
    let config = format!(
        "[server]\npush_tokens = [\"{TOKEN}\"]\n[ingest]\nindex_commit_secs = 1\n[report]\ndaily_at = \"\"\nweekly_at = \"\"\nmonthly_at = \"\"\n{}",
        ["good", "hang", "garbage", "loop", "huge"]
            .map(source)
            .concat()
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let srv = common::serve(tmp.path(), &config);
    let started = std::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let v: Value = c
        .get(format!("{}/api/v1/sources", srv.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sources")
        .json()
        .await
        .expect("json");
    let elapsed = started.elapsed().as_secs_f64();
    let health = |name: &str| -> Value {
        v["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["health"]["name"] == name)
            .unwrap_or_else(|| panic!("no health for {name}: {v}"))["health"]
            .clone()
    };
    // The good source polled on its schedule (every second) despite the others.
    let good = health("good");
    assert_eq!(good["consecutive_failures"], 0, "{good}");
    assert!(
        good["polls"].as_i64().expect("polls") as f64 >= (elapsed - 2.0).floor().min(4.0),
        "the good source keeps its 1 s schedule ({elapsed:.1} s): {good}"
    );
    let polled = polls.load(Ordering::SeqCst) as i64;
    assert!(
        good["documents"].as_i64().expect("docs") >= 3 * (polled - 1),
        "{good} after {polled} polls"
    );
    for (name, says) in [
        ("hang", "超时"),
        ("garbage", "不是可识别的订阅"),
        ("loop", "重定向"),
        ("huge", "超过"),
    ] {
        let h = health(name);
        assert!(
            h["consecutive_failures"].as_i64().expect("failures") >= 1,
            "{name}: {h}"
        );
        assert_eq!(h["documents"], 0, "{name}: {h}");
        let err = h["last_error"].as_str().unwrap_or_default();
        assert!(err.contains(says) && err.contains(name), "{name}: {err}");
    }
    // What the good source brought is searchable.
    let r: Value = c
        .get(format!("{}/api/v1/count?q=好源正文", srv.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("count")
        .json()
        .await
        .expect("json");
    assert!(r["count"].as_i64().unwrap_or(0) >= 3, "{r}");
    drop(srv);
}
