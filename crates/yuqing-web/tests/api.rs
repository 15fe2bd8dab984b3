//! The HTTP API against a real server on 127.0.0.1:0 with a real store, index and
//! pipeline writer: push (JSON array and NDJSON), per-document results, auth, search,
//! count and the error format.

use serde_json::{Value, json};
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
    let pipeline = Pipeline::open(store.clone(), index.clone(), settings, judge)
        .await
        .expect("pipeline");
    let (writer, _join) = spawn_writer(pipeline, tokio::runtime::Handle::current());
    let state = Arc::new(AppState {
        store,
        index,
        writer: Some(writer),
        push_tokens: vec!["s3cret".into()],
        metrics: None,
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
    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
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
    let (status, v) = s.get("/api/v1/search?q=x&since=yesterday").await;
    assert_eq!((status, v["code"].as_str()), (400, Some("invalid_input")));
    assert!(v["message"].as_str().expect("m").contains("yesterday"));
}
