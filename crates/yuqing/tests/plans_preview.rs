//! The plan editor's live preview (`POST /api/v1/plans/preview`) and the event page's
//! routes through a real `yuqing serve` on an imported slice of the shared CED data: the
//! preview counts what `yuqing plan test` counts on the same store, parse errors come back
//! with their position, the structured form compiles as the plan-language spec says, and
//! the web pages of events and plans are served.

mod common;

use common::{first_events, run, write_lines};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

const TOKEN: &str = "t0ken";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Imports the first `events` CED events into `<dir>/data`.
fn import_slice(dir: &Path, events: usize) {
    let src = write_lines(dir, "slice.jsonl", &first_events(events));
    run(&["import", s(&src), "--data", s(&dir.join("data"))]);
}

/// `yuqing plan test EXPR --json` on the data directory.
fn plan_test(data: &Path, expr: &str) -> Value {
    let out = run(&["plan", "test", expr, "--json", "--data", s(data)]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    serde_json::from_str(text.trim()).expect("plan test json")
}

struct Api {
    c: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: &str) -> Api {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Api {
            c: reqwest::Client::new(),
            base: base.to_owned(),
        }
    }

    async fn preview(&self, body: Value) -> (u16, Value) {
        let r = self
            .c
            .post(format!("{}/api/v1/plans/preview", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .expect("send");
        let st = r.status().as_u16();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: bool) -> (u16, Value) {
        let mut r = self.c.get(format!("{}{path}", self.base));
        if token {
            r = r.bearer_auth(TOKEN);
        }
        let r = r.send().await.expect("send");
        let st = r.status().as_u16();
        (st, r.json().await.unwrap_or(Value::Null))
    }
}

/// The CLI's daily object as the preview's list.
fn daily_list(cli: &Value) -> Value {
    let list: Vec<Value> = cli["daily"]
        .as_object()
        .expect("daily")
        .iter()
        .map(|(d, n)| json!({"date": d, "count": n}))
        .collect();
    Value::Array(list)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_counts_as_plan_test_and_reports_errors_with_positions() {
    let tmp = tempfile::tempdir().expect("tmp");
    import_slice(tmp.path(), 100);
    let data = tmp.path().join("data");
    let exprs = [
        "医院",
        "警察|公安",
        "(北京|上海)+(医院|学校)",
        "谣言-辟谣",
        "\"转发微博\"",
        "孩子 NEAR/5 医院",
        "中国 AND 日本 NOT 钓鱼岛",
        "title:地震|author:人民日报",
        "platform:weibo+政府",
    ];
    let want: Vec<Value> = exprs.iter().map(|e| plan_test(&data, e)).collect();
    let structured_want = plan_test(&data, "(北京|上海)+医院-(谣言|辟谣)");

    let srv = common::serve(
        tmp.path(),
        &format!("[server]\npush_tokens = [\"{TOKEN}\"]\n"),
    );
    let api = Api::new(&srv.base);

    // Reads of non-public data need a login or token.
    let r = api
        .c
        .post(format!("{}/api/v1/plans/preview", srv.base))
        .json(&json!({"expression": "医院"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);

    let mut took = Vec::new();
    for (expr, cli) in exprs.iter().zip(&want) {
        let started = Instant::now();
        let (st, v) = api.preview(json!({"expression": expr})).await;
        took.push(started.elapsed());
        assert_eq!(st, 200, "{expr}: {v}");
        assert_eq!(v["count"], cli["count"], "{expr}: preview vs plan test");
        assert_eq!(v["expression"], cli["expression"], "{expr}");
        assert_eq!(v["daily"], daily_list(cli), "{expr}: daily");
        assert_eq!(v["complete"], true, "{expr}");
        // Samples: the first matches, as the CLI's sample ids, each with its terms.
        let samples = v["samples"].as_array().expect("samples");
        let n = samples.len();
        assert_eq!(
            n,
            cli["count"].as_u64().expect("count").min(5) as usize,
            "{expr}"
        );
        let cli_ids: Vec<&Value> = cli["samples"].as_array().expect("ids").iter().collect();
        for (s, id) in samples.iter().zip(&cli_ids) {
            assert_eq!(&&s["id"], id, "{expr}: sample order");
            assert!(s["text"].as_str().expect("text").chars().count() <= 160);
            let terms = s["terms"].as_array().expect("terms");
            if !expr.starts_with("platform:") {
                assert!(!terms.is_empty(), "{expr}: {s}");
            }
        }
    }
    took.sort();
    eprintln!(
        "preview latency (100 CED events, ~30k documents): median {:?}, max {:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    );

    // A time window, as `plan test --since/--until`.
    let out = run(&[
        "plan",
        "test",
        "医院",
        "--json",
        "--since",
        "2012-01-01",
        "--until",
        "2015-01-01",
        "--data",
        s(&data),
    ]);
    let cli: Value = serde_json::from_slice(&out.stdout).expect("json");
    let (st, v) = api
        .preview(json!({"expression": "医院", "since": "2012-01-01", "until": "2015-01-01"}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["count"], cli["count"]);

    // Samples are bounded.
    let (_, v) = api
        .preview(json!({"expression": "转发", "samples": 1000}))
        .await;
    assert_eq!(v["samples"].as_array().expect("samples").len(), 20);

    // Parse errors: 400 with the position (0-based), column, kind and the lint messages.
    for (expr, pos, kind) in [
        ("(北京|上海", 0, "unbalanced_paren"),
        ("北京+", 2, "missing_operand"),
        ("医院 NEAR/x 孩子", 3, "bad_near"),
        ("foo:bar", 0, "unknown_field"),
    ] {
        let (st, v) = api.preview(json!({"expression": expr})).await;
        assert_eq!(st, 400, "{expr}: {v}");
        assert_eq!(v["code"], "invalid_input");
        assert_eq!(v["position"], pos, "{expr}: {v}");
        assert_eq!(v["column"], pos + 1, "{expr}");
        assert_eq!(v["kind"], kind, "{expr}");
        assert!(v["message"].as_str().expect("msg").contains("列"), "{v}");
        let lint = v["lint"].as_array().expect("lint");
        assert!(
            lint.iter()
                .any(|l| l["severity"] == "error" && l["position"] == pos),
            "{expr}: {v}"
        );
    }

    // Lint warnings with positions on a valid plan.
    let (st, v) = api.preview(json!({"expression": "北京 上海"})).await;
    assert_eq!(st, 200, "{v}");
    let lint = v["lint"].as_array().expect("lint");
    assert!(
        lint.iter().any(|l| l["severity"] == "warning"
            && l["position"].is_u64()
            && l["message_en"].as_str().is_some_and(|m| !m.is_empty())),
        "{v}"
    );
    let (_, v) = api.preview(json!({"expression": "北京-北京"})).await;
    assert!(
        v["lint"]
            .as_array()
            .expect("lint")
            .iter()
            .any(|l| l["severity"] == "error"),
        "{v}"
    );

    // The structured form compiles to (region)+(subject)+(event)-(exclusion).
    let (st, v) = api
        .preview(json!({
            "region": ["北京", "上海"],
            "subject": ["医院"],
            "exclusion": ["谣言", "辟谣", " "],
        }))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["input"], "(北京|上海)+医院-(谣言|辟谣)");
    assert_eq!(v["expression"], structured_want["expression"]);
    assert_eq!(v["count"], structured_want["count"]);
    // Only exclusion words: rejected, as the spec says.
    let (st, v) = api.preview(json!({"exclusion": ["谣言"]})).await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["kind"], "empty");
    // Not both forms, and not neither.
    let (st, _) = api
        .preview(json!({"expression": "医院", "region": ["北京"]}))
        .await;
    assert_eq!(st, 400);
    let (st, _) = api.preview(json!({})).await;
    assert_eq!(st, 400);
    let (st, _) = api.preview(json!({"expresion": "typo"})).await;
    assert_eq!(st, 400);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_page_routes_and_page_modules_are_served() {
    let tmp = tempfile::tempdir().expect("tmp");
    import_slice(tmp.path(), 20);
    let srv = common::serve(
        tmp.path(),
        &format!("[server]\npush_tokens = [\"{TOKEN}\"]\n"),
    );
    let api = Api::new(&srv.base);

    // The page modules are embedded and served as JavaScript.
    for page in ["events", "plans"] {
        let r = api
            .c
            .get(format!("{}/assets/pages/{page}.js", srv.base))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), 200, "{page}");
        let ct = r.headers()["content-type"].to_str().expect("ct").to_owned();
        assert!(ct.starts_with("text/javascript"), "{ct}");
        let body = r.text().await.expect("body");
        assert!(body.contains("export default"), "{page}");
        // Collected text never goes through innerHTML.
        assert!(!body.contains("innerHTML") && !body.contains("insertAdjacentHTML"));
    }

    // The largest event: its documents, paged, and its bounded propagation tree.
    let (st, v) = api.get("/api/v1/events?limit=1", true).await;
    assert_eq!(st, 200, "{v}");
    let ev = &v["events"][0];
    let id = ev["id"].as_i64().expect("id");
    let documents = ev["documents"].as_u64().expect("documents");
    assert!(documents > 10, "{ev}");

    let (st, _) = api
        .get(&format!("/api/v1/events/{id}/documents"), false)
        .await;
    assert_eq!(st, 401, "the documents need a login or token");
    let (st, v) = api
        .get(
            &format!("/api/v1/events/{id}/documents?limit=7&offset=3"),
            true,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["total"].as_u64(), Some(documents));
    assert_eq!(v["documents"].as_array().expect("docs").len(), 7);
    let (_, all) = api
        .get(&format!("/api/v1/events/{id}/documents?limit=200"), true)
        .await;
    let times: Vec<&str> = all["documents"]
        .as_array()
        .expect("docs")
        .iter()
        .filter_map(|d| d["published_at"].as_str())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "by publication time"
    );

    let (st, v) = api
        .get(&format!("/api/v1/events/{id}/tree?max=30"), true)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["nodes"].as_u64(), Some(documents), "{}", v["nodes"]);
    assert_eq!(v["shown"], 30);
    // Every document is either shown or counted in a "more" leaf below a shown node.
    fn walk(n: &Value, shown: &mut u64, hidden: &mut u64) {
        if let Some(m) = n.get("more") {
            assert!(m.as_u64().is_some_and(|m| m > 0));
            *hidden += n["downstream"].as_u64().expect("downstream");
            return;
        }
        *shown += 1;
        let mut below = 0;
        for c in n["children"].as_array().expect("children") {
            below +=
                c["downstream"].as_u64().expect("downstream") + u64::from(c.get("more").is_none());
            walk(c, shown, hidden);
        }
        assert_eq!(n["downstream"].as_u64(), Some(below), "{}", n["id"]);
    }
    let (mut shown, mut hidden) = (0, 0);
    walk(&v["tree"], &mut shown, &mut hidden);
    assert_eq!(shown, 30);
    assert_eq!(shown + hidden, documents);
    let analysis = api.get(&format!("/api/v1/events/{id}"), true).await.1;
    assert_eq!(v["max_depth"], analysis["propagation"]["max_depth"]);

    let (st, _) = api.get("/api/v1/events/999999/tree", true).await;
    assert_eq!(st, 404);
}
