//! The HTTP API against a real server on 127.0.0.1:0 with a real store, index and
//! pipeline writer: push (JSON array and NDJSON), per-document results, auth, search,
//! count and the error format; the judgement routes (plans and their hits, events and their
//! analysis, levels set by hand, corrections, a document's judgement) on the first events
//! of the shared CED file (real Weibo posts with their real repost chains).

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use yuqing_ingest::runner::spawn_writer;
use yuqing_ingest::{IngestSettings, Pipeline};
use yuqing_search::SearchIndex;
use yuqing_store::SqliteStore;
use yuqing_web::AppState;

struct Server {
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(
        SqliteStore::open(&dir.path().join("yuqing.db"))
            .await
            .expect("store"),
    );
    let index = Arc::new(SearchIndex::open(&dir.path().join("index")).expect("index"));
    // Commit after every batch so pushed documents are searchable at once.
    let settings = IngestSettings {
        index_commit_secs: 0,
        ..Default::default()
    };
    let judge = yuqing_ingest::transforms::judge::Judge::builtin();
    let pipeline = Pipeline::open(store.clone(), index.clone(), settings, judge.clone())
        .await
        .expect("pipeline");
    let (writer, _join) = spawn_writer(pipeline, tokio::runtime::Handle::current());
    let state = Arc::new(AppState {
        store,
        index,
        writer: Some(writer),
        push_tokens: vec!["s3cret".into()],
        metrics: None,
        judge,
        judgement: Default::default(),
        cases: None,
        access: None,
        secure_cookies: false,
        handling: None,
        reports: None,
        report_options: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(yuqing_web::serve(listener, state, std::future::pending()));
    Server {
        base,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Server {
    async fn push(&self, body: &str, token: Option<&str>) -> (u16, Value) {
        let mut r = self
            .client
            .post(format!("{}/api/v1/documents", self.base))
            .body(body.to_owned());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.expect("send");
        (
            resp.status().as_u16(),
            resp.json().await.expect("json body"),
        )
    }
    /// A read with the machine token (every `/api/v1` route needs an identity).
    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth("s3cret")
            .send()
            .await
            .expect("send");
        (
            resp.status().as_u16(),
            resp.json().await.expect("json body"),
        )
    }
    /// Waits (bounded) until the writer has committed the index for `q`.
    async fn count_eventually(&self, q: &str, want: u64) -> u64 {
        let mut last = 0;
        for _ in 0..200 {
            let (_, v) = self.get(&format!("/api/v1/count?q={}", urlencode(q))).await;
            last = v["count"].as_u64().unwrap_or(0);
            if last == want {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        last
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_returns_one_result_per_document_and_documents_become_searchable() {
    let s = start().await;
    let body = json!([
        {"id": "p1", "platform": "weibo", "text": "县医院门口排起长队，网友质疑挂号难", "published_at": "2024-05-01T08:00:00+08:00"},
        {"id": "p2", "platform": "weibo", "text": "转发：县医院门口排起长队，网友质疑挂号难", "parent_id": "p1"},
        {"platform": "weibo", "text": "没有编号"},
        {"id": "p1", "platform": "weibo", "text": "重复推送"},
        "not an object"
    ])
    .to_string();
    let (status, v) = s.push(&body, Some("s3cret")).await;
    assert_eq!(status, 200, "{v}");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 5);
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        ["stored", "stored", "rejected", "duplicate", "rejected"]
    );
    assert!(
        results[2]["reason"]
            .as_str()
            .expect("reason")
            .contains("id")
    );
    assert_eq!(
        (
            v["summary"]["stored"].as_u64(),
            v["summary"]["rejected"].as_u64()
        ),
        (Some(2), Some(2))
    );

    assert_eq!(s.count_eventually("挂号难", 2).await, 2);
    let (status, page) = s
        .get(&format!("/api/v1/search?q={}&sort=time", urlencode("医院")))
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 2);
    let hit = &page["hits"][0];
    assert!(
        hit["snippet"]["highlights"]
            .as_array()
            .is_some_and(|h| !h.is_empty()),
        "{hit}"
    );

    // The repost got its root from its parent.
    let (status, doc) = s.get("/api/v1/documents/weibo/p2").await;
    assert_eq!(status, 200);
    assert_eq!(doc["root_id"], "p1");

    // A reprint by another site (punctuation changed, so not an exact copy) joins the
    // group by SimHash; the group names the first publisher (earliest published_at), not
    // the first stored.
    let article = "本报讯 记者从县卫生健康局获悉，县人民医院将于下月起开通夜间门诊，方便上班族就医，挂号可通过微信公众号预约。";
    let reprint = json!([
        {"id": "a1", "platform": "news", "url": "https://a.example.com/1", "text": article, "published_at": "2024-05-02T08:00:00+08:00"},
        {"id": "r1", "platform": "news", "url": "https://other.example.com/x", "text": article.replace('，', "、").replace('。', "！"), "published_at": "2024-04-30T08:00:00+08:00"}
    ])
    .to_string();
    let (_, v) = s.push(&reprint, Some("s3cret")).await;
    let r = &v["results"][1];
    assert_eq!(
        (r["status"].as_str(), r["joined_group"].as_bool()),
        (Some("stored"), Some(true)),
        "{v}"
    );
    assert_eq!(r["group_id"], v["results"][0]["group_id"]);
    let (status, g) = s.get(&format!("/api/v1/groups/{}", r["group_id"])).await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["group"]["members"], 2);
    assert_eq!(g["group"]["sites"], 2);
    assert_eq!(g["first_publisher"]["id"], "r1");
    let (status, _) = s.get("/api/v1/groups/999999").await;
    assert_eq!(status, 404);

    // NDJSON works too, and the same document again is a duplicate.
    let nd = "{\"id\":\"n1\",\"platform\":\"news\",\"text\":\"第一条\"}\n\n{\"id\":\"n1\",\"platform\":\"news\",\"text\":\"第一条\"}\n{broken\n";
    let (status, v) = s.push(nd, Some("s3cret")).await;
    assert_eq!(status, 200);
    let statuses: Vec<&str> = v["results"]
        .as_array()
        .expect("r")
        .iter()
        .map(|r| r["status"].as_str().expect("s"))
        .collect();
    assert_eq!(statuses, ["stored", "duplicate", "rejected"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_needs_a_valid_token_and_errors_have_the_stable_format() {
    let s = start().await;
    let (status, v) = s.push("[]", None).await;
    assert_eq!(status, 401);
    assert_eq!(v["code"], "unauthenticated");
    assert!(v["message"].as_str().expect("zh").contains("令牌"));
    assert!(v["message_en"].as_str().expect("en").contains("token"));
    let (status, v) = s.push("[]", Some("wrong")).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("unauthenticated")));
    let (status, v) = s.push("[1, 2", Some("s3cret")).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    let (status, v) = s.get("/api/v1/documents/weibo/nope").await;
    assert_eq!((status, v["code"].as_str()), (404, Some("not_found")));
    // Reads need an identity too: documents are not public.
    let r = s
        .client
        .get(format!("{}/api/v1/search?q=x", s.base))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["code"], "unauthenticated");
    let (status, v) = s.get("/api/v1/search?q=x&since=yesterday").await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    assert!(v["message"].as_str().expect("m").contains("yesterday"));
}

// ---- judgement routes ----

const CED: &str = "../../../shared/data/ced/ced_dev_documents.jsonl.gz";
const TOKEN: Option<&str> = Some("s3cret");

/// The first `n` events of the shared CED dev file, as documents.
fn first_events(n: usize) -> Vec<Value> {
    use std::io::BufRead;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CED);
    let f = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("the shared CED data is missing at {}: {e}", path.display()));
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for line in std::io::BufReader::new(flate2::read::GzDecoder::new(f)).lines() {
        let v: Value = serde_json::from_str(&line.expect("line")).expect("json");
        let e = v["event_id"].as_str().expect("event_id").to_owned();
        if !seen.contains(&e) {
            if seen.len() == n {
                break;
            }
            seen.push(e);
        }
        out.push(v);
    }
    out
}

/// Per CED event, in file order: its post id, its documents' ids and each document's depth
/// in its parent chain (the post has depth 0).
struct CedEvent {
    post: String,
    ids: Vec<String>,
    depth: HashMap<String, u32>,
}

fn ced_events(docs: &[Value]) -> Vec<CedEvent> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_event: HashMap<&str, Vec<&Value>> = HashMap::new();
    for d in docs {
        let e = d["event_id"].as_str().expect("event_id");
        if !by_event.contains_key(e) {
            order.push(e);
        }
        by_event.entry(e).or_default().push(d);
    }
    order
        .iter()
        .map(|e| {
            let docs = &by_event[e];
            let parent: HashMap<&str, &str> = docs
                .iter()
                .filter_map(|d| Some((d["id"].as_str()?, d["parent_id"].as_str()?)))
                .collect();
            let mut depth = HashMap::new();
            for d in docs {
                let id = d["id"].as_str().expect("id");
                let (mut k, mut cur) = (0u32, id);
                while let Some(p) = parent.get(cur) {
                    k += 1;
                    cur = p;
                    assert!(k < 10_000, "cycle in a CED chain");
                }
                depth.insert(id.to_owned(), k);
            }
            CedEvent {
                post: docs.iter().find(|d| d["kind"] == "post").expect("a post")["id"]
                    .as_str()
                    .expect("id")
                    .to_owned(),
                ids: docs
                    .iter()
                    .map(|d| d["id"].as_str().expect("id").to_owned())
                    .collect(),
                depth,
            }
        })
        .collect()
}

impl Server {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            r = r.json(b);
        }
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
        (status, v)
    }
    async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body), token)
            .await
    }
    /// Pushes documents and checks every one was stored.
    async fn push_all(&self, docs: &[Value]) {
        let (status, v) = self
            .push(&Value::from(docs.to_vec()).to_string(), TOKEN)
            .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["summary"]["stored"].as_u64(),
            Some(docs.len() as u64),
            "{}",
            v["summary"]
        );
    }
    /// Polls (bounded) a plan's hits until `want`; returns the last answer.
    async fn hits_eventually(&self, plan: i64, want: u64) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, v) = self.get(&format!("/api/v1/plans/{plan}/hits")).await;
            assert_eq!(status, 200, "{v}");
            if v["count"].as_u64() == Some(want) || std::time::Instant::now() > deadline {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

fn assert_error(status: u16, v: &Value, want_status: u16, code: &str) {
    assert_eq!(
        (status, v["code"].as_str()),
        (want_status, Some(code)),
        "{v}"
    );
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty())
            && v["message_en"].as_str().is_some_and(|m| !m.is_empty()),
        "bilingual message: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_by_api_match_pushed_documents_and_page_their_hits() {
    use reqwest::Method;
    let s = start().await;

    // Bad input first: a plan that does not parse says where.
    let (status, v) = s
        .post(
            "/api/v1/plans",
            &json!({"name": "坏", "expression": "医院+(跳楼"}),
            TOKEN,
        )
        .await;
    assert_error(status, &v, 400, "invalid_input");
    let pos = v["position"].as_u64().expect("position");
    assert_eq!(v["column"].as_u64(), Some(pos + 1));
    assert!(
        v["message"]
            .as_str()
            .expect("m")
            .contains(&format!("第 {} 列", pos + 1)),
        "{v}"
    );
    assert!(
        v["message_en"]
            .as_str()
            .expect("m")
            .contains(&format!("column {}", pos + 1)),
        "{v}"
    );
    for (body, what) in [
        (
            json!({"name": "x", "expression": "a", "region": ["b"]}),
            "both forms",
        ),
        (json!({"name": "x"}), "neither form"),
        (json!({"name": " ", "expression": "医院"}), "no name"),
        (json!({"name": "x", "expresion": "医院"}), "unknown field"),
        (json!("医院"), "not an object"),
    ] {
        let (status, v) = s.post("/api/v1/plans", &body, TOKEN).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("invalid_input")),
            "{what}: {v}"
        );
    }
    let (status, v) = s
        .post(
            "/api/v1/plans",
            &json!({"name": "x", "expression": "医院"}),
            None,
        )
        .await;
    assert_error(status, &v, 401, "unauthenticated");
    let (status, v) = s
        .post(
            "/api/v1/plans",
            &json!({"name": "x", "expression": "医院"}),
            Some("wrong"),
        )
        .await;
    assert_error(status, &v, 401, "unauthenticated");
    let (_, v) = s.get("/api/v1/plans").await;
    assert_eq!(
        v["plans"],
        json!([]),
        "nothing stored by the refused requests"
    );

    // Two plans: an expression and the structured form.
    let (status, v) = s
        .post(
            "/api/v1/plans",
            &json!({"name": "医院跳楼", "expression": "医院|跳楼", "by": "值班员"}),
            TOKEN,
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["created"], true);
    assert!(v["lint"].is_array(), "{v}");
    let plan = &v["plan"];
    assert_eq!(
        (
            plan["origin"].as_str(),
            plan["active"].as_bool(),
            plan["updated_by"].as_str()
        ),
        (Some("api"), Some(true), Some("值班员"))
    );
    let plan_id = plan["id"].as_i64().expect("id");
    let (status, v) = s
        .post(
            "/api/v1/plans",
            &json!({"name": "宁波医院", "region": ["宁波"], "subject": ["医院", "医生"]}),
            TOKEN,
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["plan"]["expression"], "宁波+(医院|医生)");
    assert_eq!(v["plan"]["structured"]["region"], json!(["宁波"]));
    let structured_id = v["plan"]["id"].as_i64().expect("id");
    // Lint warnings come back with a plan that parses.
    let (status, v) = s
        .post(
            "/api/v1/plans",
            &json!({"name": "单字", "expression": "医 or 院"}),
            TOKEN,
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert!(
        v["lint"].as_array().is_some_and(|l| !l.is_empty()),
        "warnings for one-character terms and a lower-case operator: {v}"
    );
    let lint_id = v["plan"]["id"].as_i64().expect("id");
    // Same name again: replaced, not added.
    let (status, v) = s
        .post(
            "/api/v1/plans",
            &json!({"name": "单字", "expression": "医生", "active": false}),
            TOKEN,
        )
        .await;
    assert_eq!((status, v["created"].as_bool()), (200, Some(false)), "{v}");
    assert_eq!(v["plan"]["id"].as_i64(), Some(lint_id));
    assert_eq!(v["plan"]["active"], false);

    // Documents pushed after the plan was created are matched against it.
    let docs = first_events(2);
    s.push_all(&docs).await;
    // Plans match the normalised text (traditional folded to simplified).
    let terms = ["医院", "醫院", "跳楼", "跳樓"];
    let matching: Vec<&str> = docs
        .iter()
        .filter(|d| {
            let text = d["text"].as_str().unwrap_or("").to_lowercase();
            terms.iter().any(|t| text.contains(t))
        })
        .map(|d| d["id"].as_str().expect("id"))
        .collect();
    assert!(matching.len() >= 3, "the test data has hits");
    let want = matching.len() as u64;
    let v = s.hits_eventually(plan_id, want).await;
    assert_eq!(v["count"].as_u64(), Some(want), "{v}");

    // Paging by seq walks every hit once, newest first.
    let mut seen: Vec<i64> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    let mut path = format!("/api/v1/plans/{plan_id}/hits?limit=2");
    loop {
        let (status, page) = s.get(&path).await;
        assert_eq!(status, 200, "{page}");
        for h in page["hits"].as_array().expect("hits") {
            seen.push(h["seq"].as_i64().expect("seq"));
            ids.push(h["id"].as_str().expect("id").to_owned());
            assert_eq!(h["platform"], "weibo");
            let found: Vec<&str> = h["terms"]
                .as_array()
                .expect("terms")
                .iter()
                .map(|t| t.as_str().expect("term"))
                .collect();
            assert!(
                found.iter().all(|t| ["医院", "跳楼"].contains(t)) && !found.is_empty(),
                "{h}"
            );
            assert!(
                h["text"].is_string() && h.get("published_at").is_some(),
                "{h}"
            );
        }
        match page["next_before"].as_i64() {
            Some(b) => path = format!("/api/v1/plans/{plan_id}/hits?limit=2&before={b}"),
            None => break,
        }
        assert!(seen.len() <= matching.len(), "paging ends");
    }
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seen:?}"
    );
    ids.sort();
    let mut want_ids: Vec<String> = matching.iter().map(|s| (*s).to_owned()).collect();
    want_ids.sort();
    assert_eq!(ids, want_ids);

    // A document's judgement names the plans it hit.
    let hit_id = matching[0];
    let (status, doc) = s.get(&format!("/api/v1/documents/weibo/{hit_id}")).await;
    assert_eq!(status, 200, "{doc}");
    let hits = doc["judgement"]["plan_hits"].as_array().expect("plan_hits");
    assert!(
        hits.iter()
            .any(|h| h["plan_id"].as_i64() == Some(plan_id) && h["name"] == "医院跳楼"),
        "{doc}"
    );

    // The listing: hit counts, and a spike that explains itself.
    let (status, v) = s.get("/api/v1/plans").await;
    assert_eq!(status, 200, "{v}");
    let listed = v["plans"].as_array().expect("plans");
    assert_eq!(listed.len(), 3);
    let p = listed
        .iter()
        .find(|p| p["id"].as_i64() == Some(plan_id))
        .expect("listed");
    assert_eq!(p["hits"].as_u64(), Some(want));
    for k in [
        "window_count",
        "baseline_mean",
        "threshold",
        "is_spike",
        "window_hours",
    ] {
        assert!(p["spike"].get(k).is_some(), "spike.{k}: {p}");
    }
    // The CED posts are from 2012: nothing in the last hours.
    assert_eq!(p["spike"]["window_count"], 0);
    assert_eq!(p["spike"]["is_spike"], false);

    // Switched off, it matches nothing new.
    let (status, v) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/plans/{plan_id}"),
            Some(&json!({"active": false})),
            TOKEN,
        )
        .await;
    assert_eq!(
        (status, v["plan"]["active"].as_bool()),
        (200, Some(false)),
        "{v}"
    );
    s.push_all(&[json!({"id": "later", "platform": "weibo", "text": "又一家医院出事了"})])
        .await;
    let (_, doc) = s.get("/api/v1/documents/weibo/later").await;
    assert_eq!(doc["judgement"]["plan_hits"], json!([]), "{doc}");
    let (_, v) = s.get(&format!("/api/v1/plans/{plan_id}/hits")).await;
    assert_eq!(v["count"].as_u64(), Some(want));
    let (status, v) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/plans/{plan_id}"),
            Some(&json!({"active": true})),
            None,
        )
        .await;
    assert_error(status, &v, 401, "unauthenticated");
    let (status, v) = s
        .send(
            Method::PATCH,
            &format!("/api/v1/plans/{plan_id}"),
            Some(&json!({})),
            TOKEN,
        )
        .await;
    assert_error(status, &v, 400, "invalid_input");
    let (status, v) = s
        .send(
            Method::PATCH,
            "/api/v1/plans/999999",
            Some(&json!({"active": true})),
            TOKEN,
        )
        .await;
    assert_error(status, &v, 404, "not_found");

    // Deleting: unknown → 404, no token → 401; a deleted plan's hits stay readable.
    let (status, v) = s
        .send(Method::DELETE, "/api/v1/plans/999999", None, TOKEN)
        .await;
    assert_error(status, &v, 404, "not_found");
    let (status, v) = s
        .send(
            Method::DELETE,
            &format!("/api/v1/plans/{structured_id}"),
            None,
            None,
        )
        .await;
    assert_error(status, &v, 401, "unauthenticated");
    let (status, v) = s
        .send(
            Method::DELETE,
            &format!("/api/v1/plans/{structured_id}"),
            None,
            TOKEN,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (_, v) = s.get("/api/v1/plans").await;
    assert_eq!(v["plans"].as_array().map(Vec::len), Some(2));
    let (status, v) = s.get(&format!("/api/v1/plans/{structured_id}/hits")).await;
    assert_eq!(status, 200, "{v}");
    assert!(
        v["count"].as_u64().is_some_and(|n| n > 0),
        "宁波 hospital post: {v}"
    );
    let (status, v) = s.get("/api/v1/plans/999999/hits").await;
    assert_error(status, &v, 404, "not_found");
    let (status, v) = s.get("/api/v1/plans/abc/hits").await;
    assert_error(status, &v, 400, "invalid_input");
    let (status, v) = s
        .get(&format!("/api/v1/plans/{plan_id}/hits?limit=x"))
        .await;
    assert_error(status, &v, 400, "invalid_input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_analysis_levels_and_corrections() {
    use reqwest::Method;
    let s = start().await;
    let docs = first_events(3);
    s.push_all(&docs).await;
    let ced = ced_events(&docs);

    // One event per CED event, with all its documents.
    let (status, v) = s.get("/api/v1/events?limit=100").await;
    assert_eq!(status, 200, "{v}");
    let events = v["events"].as_array().expect("events");
    assert_eq!(events.len(), ced.len(), "{v}");
    let by_root: HashMap<&str, &Value> = events
        .iter()
        .map(|e| (e["root_id"].as_str().expect("root_id"), e))
        .collect();
    for c in &ced {
        let e = by_root.get(c.post.as_str()).expect("an event per post");
        assert_eq!(e["documents"].as_u64(), Some(c.ids.len() as u64));
        assert!(e["level"].is_string(), "every event is graded: {e}");
    }
    // Filters and paging.
    let (_, v) = s.get("/api/v1/events?min_documents=200").await;
    let big_enough = ced.iter().filter(|c| c.ids.len() >= 200).count();
    assert_eq!(v["events"].as_array().map(Vec::len), Some(big_enough));
    let (_, v) = s.get("/api/v1/events?min_level=general").await;
    assert_eq!(v["events"].as_array().map(Vec::len), Some(ced.len()));
    let (_, v) = s.get("/api/v1/events?limit=1&offset=1").await;
    assert_eq!(v["events"][0]["id"], events[1]["id"]);
    let (status, v) = s.get("/api/v1/events?min_level=huge").await;
    assert_error(status, &v, 400, "invalid_input");
    assert!(v["message"].as_str().expect("m").contains("huge"));
    let (status, v) = s.get("/api/v1/events?limit=many").await;
    assert_error(status, &v, 400, "invalid_input");

    // The largest event in full: propagation matches the parent chains.
    let big = ced.iter().max_by_key(|c| c.ids.len()).expect("events");
    let id = by_root[big.post.as_str()]["id"].as_i64().expect("id");
    let (status, a) = s.get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["root_id"].as_str(), Some(big.post.as_str()));
    assert_eq!(a["documents"].as_u64(), Some(big.ids.len() as u64));
    let max_depth = *big.depth.values().max().expect("docs");
    assert_eq!(
        a["propagation"]["max_depth"].as_u64(),
        Some(u64::from(max_depth))
    );
    let mut per_depth = vec![0u64; max_depth as usize + 1];
    for d in big.depth.values() {
        per_depth[*d as usize] += 1;
    }
    assert_eq!(a["propagation"]["per_depth"], json!(per_depth));
    assert!(
        a["hot_words"].as_array().is_some_and(|h| !h.is_empty()),
        "{a}"
    );
    // A second analysis reuses the cached background and says the same.
    let (_, again) = s.get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(again["hot_words"], a["hot_words"]);
    let (status, v) = s.get("/api/v1/events/999999").await;
    assert_error(status, &v, 404, "not_found");
    let (status, v) = s.get("/api/v1/events/abc").await;
    assert_error(status, &v, 400, "invalid_input");

    // A level set by hand: validated, recorded with who and why, and read back.
    let level_path = format!("/api/v1/events/{id}/level");
    let good = json!({"level": "重大", "by": "值班员", "reason": "经核实涉及人员伤亡"});
    let (status, v) = s.send(Method::PUT, &level_path, Some(&good), None).await;
    assert_error(status, &v, 401, "unauthenticated");
    for bad in [
        json!({"level": "huge", "by": "值班员", "reason": "r"}),
        json!({"level": "major", "by": "值班员"}),
        json!({"level": "major", "by": "", "reason": "r"}),
        json!({"by": "值班员", "reason": "r"}),
    ] {
        let (status, v) = s.send(Method::PUT, &level_path, Some(&bad), TOKEN).await;
        assert_error(status, &v, 400, "invalid_input");
    }
    let (status, v) = s
        .send(
            Method::PUT,
            "/api/v1/events/999999/level",
            Some(&good),
            TOKEN,
        )
        .await;
    assert_error(status, &v, 404, "not_found");
    let (status, v) = s.send(Method::PUT, &level_path, Some(&good), TOKEN).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (
            v["id"].as_i64(),
            v["level"].as_str(),
            v["level_label"].as_str()
        ),
        (Some(id), Some("major"), Some("重大"))
    );
    let (_, a) = s.get(&format!("/api/v1/events/{id}")).await;
    assert_eq!(a["level"], "major");
    assert_eq!(a["level_rule"], "manual");
    assert!(
        a["level_reason"]
            .as_str()
            .is_some_and(|r| r.contains("值班员") && r.contains("经核实涉及人员伤亡")),
        "{a}"
    );
    let last = a["level_history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("history");
    assert_eq!(
        (last["by"].as_str(), last["level"].as_str()),
        (Some("值班员"), Some("major"))
    );

    // A correction of a document's sentiment wins and shows in its judgement.
    let post = big.post.as_str();
    let doc_path = format!("/api/v1/documents/weibo/{post}");
    let (status, doc) = s.get(&doc_path).await;
    assert_eq!(status, 200, "{doc}");
    let j = &doc["judgement"];
    assert_eq!(j["event_id"].as_i64(), Some(id));
    assert_eq!(
        j["corrected"],
        json!({"sentiment": false, "content_type": false})
    );
    let before = j["sentiment"].as_str().expect("the post is judged");
    assert!(
        j["sentiment_score"].is_number() && j["content_type"].is_string(),
        "{j}"
    );
    let (new, new_zh, code) = if before == "positive" {
        ("negative", "负面", "-1")
    } else {
        ("positive", "正面", "1")
    };
    let corr_path = format!("{doc_path}/corrections");
    let body = json!({"sentiment": new_zh, "content_type": "complaint", "by": "审核员", "note": "人工复核"});
    let (status, v) = s.post(&corr_path, &body, None).await;
    assert_error(status, &v, 401, "unauthenticated");
    for bad in [
        json!({"by": "审核员"}),
        json!({"sentiment": "happy", "by": "审核员"}),
        json!({"content_type": "rant", "by": "审核员"}),
        json!({"sentiment": "正面"}),
        json!({"sentiment": "正面", "by": "审核员", "extra": 1}),
    ] {
        let (status, v) = s.post(&corr_path, &bad, TOKEN).await;
        assert_error(status, &v, 400, "invalid_input");
    }
    let (status, v) = s
        .post("/api/v1/documents/weibo/nope/corrections", &body, TOKEN)
        .await;
    assert_error(status, &v, 404, "not_found");
    let (status, v) = s.post(&corr_path, &body, TOKEN).await;
    assert_eq!(status, 200, "{v}");
    let stored = v["corrections"].as_array().expect("corrections");
    assert_eq!(stored.len(), 2, "{v}");
    assert_eq!(
        (
            stored[0]["field"].as_str(),
            stored[0]["new_value"].as_str(),
            stored[0]["by"].as_str(),
            stored[0]["note"].as_str()
        ),
        (
            Some("sentiment"),
            Some(code),
            Some("审核员"),
            Some("人工复核")
        )
    );
    assert_eq!(stored[1]["field"], "content_type");
    let (_, doc) = s.get(&doc_path).await;
    let j = &doc["judgement"];
    assert_eq!(j["sentiment"].as_str(), Some(new), "{j}");
    assert_eq!(j["sentiment_label"].as_str(), Some(new_zh));
    assert_eq!(j["content_type"], "complaint");
    assert_eq!(
        j["corrected"],
        json!({"sentiment": true, "content_type": true})
    );
    let (status, v) = s.get("/api/v1/documents/weibo/nope").await;
    assert_error(status, &v, 404, "not_found");
}

/// Reposts collected before the repost they answer: when it comes, their event is merged
/// into its chain's, and the old event's page (alerts and cases keep its id) shows the
/// event it went into, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_event_leads_to_the_event_it_went_into() {
    let s = start().await;
    let doc = |id: &str, parent: Option<&str>, text: &str| {
        let mut d = json!({"platform": "weibo", "id": id, "text": text,
            "published_at": "2024-05-01 08:00:00"});
        if let Some(p) = parent {
            d["kind"] = json!("repost");
            d["parent_id"] = json!(p);
        }
        d
    };
    s.push_all(&[doc("P", None, "某县医院发生火灾，多名医生和病人受伤")])
        .await;
    s.push_all(&[doc("g", Some("c"), "太可怕了，希望都平安")])
        .await;
    let event_of = |v: &Value| v["judgement"]["event_id"].as_i64().expect("event");
    let (_, p) = s.get("/api/v1/documents/weibo/P").await;
    let (_, g) = s.get("/api/v1/documents/weibo/g").await;
    let (post_event, orphans) = (event_of(&p), event_of(&g));
    assert_ne!(
        post_event, orphans,
        "g waits for its parent in an event of its own"
    );
    let (_, a) = s.get(&format!("/api/v1/events/{orphans}")).await;
    assert_eq!(
        (a["id"].as_i64(), a["documents"].as_u64()),
        (Some(orphans), Some(1))
    );
    assert!(a.get("merged_from").is_none(), "{a}");

    s.push_all(&[doc("c", Some("P"), "转发：火灾现场视频")])
        .await;
    let (_, g) = s.get("/api/v1/documents/weibo/g").await;
    assert_eq!(event_of(&g), post_event);
    let (status, a) = s.get(&format!("/api/v1/events/{orphans}")).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (
            a["id"].as_i64(),
            a["merged_from"].as_i64(),
            a["documents"].as_u64()
        ),
        (Some(post_event), Some(orphans), Some(3)),
        "{a}"
    );
    assert_eq!(a["root_id"], "P");
    let (_, v) = s.get("/api/v1/events").await;
    let listed: Vec<i64> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["id"].as_i64())
        .collect();
    assert_eq!(listed, vec![post_event], "the emptied event is not listed");
    // A level set through the old id goes to the event it went into.
    let (status, v) = s
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/events/{orphans}/level"),
            Some(&json!({"level": "major", "by": "值班员", "reason": "已核实"})),
            TOKEN,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["id"].as_i64(), v["level"].as_str()),
        (Some(post_event), Some("major"))
    );
    let (_, a) = s.get(&format!("/api/v1/events/{post_event}")).await;
    assert_eq!(a["level_rule"], "manual");
}
