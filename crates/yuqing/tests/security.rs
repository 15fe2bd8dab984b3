//! Security checks through a real `yuqing serve` (issue 8): SQL injection attempts in every
//! query and path parameter the API documents (openapi.json) are plain text, never SQL; and
//! no secret (push token, channel credentials, a source's API key, passwords, API tokens,
//! session cookies) ever reaches the log, even at `debug`, even when deliveries and polls
//! fail and log their errors.

mod common;

use common::{first_events, run, write_lines};
use reqwest::{Method, Url};
use serde_json::{Value, json};

const TOKEN: &str = "s3cur1ty-push-t0ken";

struct Session {
    c: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Session {
    /// Logs in as the administrator with the first start's one-time password and sets
    /// `password` (a one-time password must be changed before anything else).
    async fn admin(base: &str, log: &std::path::Path, password: &str) -> Self {
        let text = std::fs::read_to_string(log).expect("serve.log");
        let otp = text
            .lines()
            .find_map(|l| l.split("一次性密码：").nth(1))
            .expect("one-time password on first start")
            .trim()
            .to_owned();
        let c = reqwest::Client::new();
        let mut s = Self {
            c,
            base: base.to_owned(),
            cookie: String::new(),
            csrf: String::new(),
        };
        s.login("admin", &otp).await;
        let (st, v) = s
            .send(
                Method::POST,
                "/api/v1/password",
                Some(json!({"old": otp, "new": password})),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        s.login("admin", password).await;
        s
    }

    async fn login(&mut self, user: &str, password: &str) {
        let r = self
            .c
            .post(format!("{}/api/v1/login", self.base))
            .json(&json!({"user": user, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status().as_u16(), 200);
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .to_owned();
        self.cookie = cookie.split(';').next().expect("pair").to_owned();
        let v: Value = r.json().await.expect("json");
        self.csrf = v["csrf"].as_str().expect("csrf").to_owned();
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send_url(
            method,
            Url::parse(&format!("{}{path}", self.base)).expect("url"),
            body,
        )
        .await
    }

    async fn send_url(&self, method: Method, url: Url, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .c
            .request(method, url)
            .header("Cookie", &self.cookie)
            .header("X-CSRF-Token", &self.csrf);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("send");
        let st = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            st,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

const PAYLOADS: &[&str] = &[
    "' OR '1'='1",
    "1; DROP TABLE documents; --",
    "%' UNION SELECT sqlite_version(), 1, 2 --",
    "\") OR 1=1 --",
    "1 OR 1=1",
    "'; UPDATE users SET role = 'admin' --",
    "' || (SELECT password_hash FROM users LIMIT 1) || '",
    "1)) OR ((1=1",
];

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_injection_in_every_documented_parameter_is_plain_text() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = write_lines(tmp.path(), "ced.jsonl", &first_events(3));
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    run(&["import", src.to_str().expect("utf8"), "--data", d]);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let srv = common::serve(
        tmp.path(),
        &format!("[server]\npush_tokens = [\"{TOKEN}\"]\n"),
    );
    let s = Session::admin(
        &srv.base,
        &tmp.path().join("serve.log"),
        "admin-password-2026",
    )
    .await;
    let (_, before) = s.send(Method::GET, "/api/v1/count?q=", None).await;

    let api: Value = serde_json::from_str(include_str!("../../yuqing-web/assets/openapi.json"))
        .expect("openapi.json");
    let mut tried = 0;
    for (path, ops) in api["paths"].as_object().expect("paths") {
        let Some(get) = ops.get("get") else { continue };
        let params: Vec<(&str, &str)> = get["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| Some((p["name"].as_str()?, p["in"].as_str()?)))
                    .collect()
            })
            .unwrap_or_default();
        for &(name, place) in &params {
            for payload in PAYLOADS {
                // The other path parameters get a plain value; this one the payload.
                let mut p = path.clone();
                for &(other, pl) in &params {
                    if pl == "path" {
                        let v = if other == name {
                            "\u{0}PAYLOAD\u{0}"
                        } else {
                            "1"
                        };
                        p = p.replace(&format!("{{{other}}}"), v);
                    }
                }
                let mut url = Url::parse(&format!("{}{}", srv.base, p)).expect("url");
                if place == "path" {
                    let segs: Vec<String> = url
                        .path_segments()
                        .expect("segments")
                        .map(|seg| {
                            if seg.contains("%00PAYLOAD%00") {
                                (*payload).to_owned()
                            } else {
                                seg.to_owned()
                            }
                        })
                        .collect();
                    url.path_segments_mut()
                        .expect("segments")
                        .clear()
                        .extend(&segs);
                } else if place == "query" {
                    url.query_pairs_mut().append_pair(name, payload);
                } else {
                    continue;
                }
                let (st, v) = s.send_url(Method::GET, url.clone(), None).await;
                tried += 1;
                assert!(st < 500, "{url}: {st} {v}");
                // The answer may quote the input back (escaped); beyond that, no sign of
                // SQL having run or failed.
                // (Lists are split at commas, so each part may be quoted alone.)
                let mut text = v.to_string();
                for part in std::iter::once(*payload).chain(payload.split(',')) {
                    let quoted = serde_json::to_string(part.trim()).expect("json");
                    text = text.replace(quoted.trim_matches('"'), "");
                }
                let text = text.to_lowercase();
                for leak in [
                    "syntax error",
                    "no such column",
                    "unrecognized token",
                    "sqlite",
                    "password_hash",
                    "数据库错误",
                ] {
                    assert!(!text.contains(leak), "{url} answered with {leak}: {v}");
                }
            }
        }
    }
    assert!(tried > 300, "every parameter tried ({tried})");
    // Searched for as text: no document contains these strings.
    for payload in PAYLOADS {
        let mut url = Url::parse(&format!("{}/api/v1/search", srv.base)).expect("url");
        url.query_pairs_mut()
            .append_pair("q", &format!("\"{}\"", payload.replace('"', "")));
        let (st, v) = s.send_url(Method::GET, url, None).await;
        assert!(st == 200 || st == 400, "{st} {v}");
        if st == 200 {
            assert_eq!(v["total"], 0, "{payload}: {v}");
        }
    }
    // Nothing was changed: same documents, the administrator still the only admin, the
    // database sound.
    let (_, after) = s.send(Method::GET, "/api/v1/count?q=", None).await;
    assert_eq!(before, after);
    let (st, me) = s.send(Method::GET, "/api/v1/me", None).await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(
        me["roles"],
        json!([{"unit": "root", "unit_name": "本单位", "role": "admin",
        "label": "系统管理员", "label_en": "administrator"}]),
        "{me}"
    );
    drop(srv);
    let out = run(&["check", "--data", d]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("check json");
    assert_eq!(v["database_ok"], true, "{v}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log_even_at_debug() {
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    // A webhook that fails (so deliveries are retried and logged) and a source API that
    // refuses (so polls fail and are logged).
    let app = axum::Router::new()
        .route(
            "/hook",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route("/api", get(|| async { StatusCode::UNAUTHORIZED }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let secrets = [
        TOKEN,
        "webhook-bearer-S3CRET",
        "hook-query-S3CRET",
        "smtp-password-S3CRET",
        "source-api-key-S3CRET",
        "mailbox-password-S3CRET",
        "reply-mail-password-S3CRET",
    ];
    let config = format!(
        r#"
[server]
push_tokens = ["{TOKEN}"]

[[plans]]
name = "食堂"
expression = "食堂+变质"

[[alert_rules]]
name = "食堂"
plans = ["食堂"]

[[channels]]
type = "webhook"
name = "值班"
url = "http://{addr}/hook?key=hook-query-S3CRET"
bearer = "webhook-bearer-S3CRET"

[[channels]]
type = "email"
name = "值班邮箱"
host = "127.0.0.1"
port = 1
from = "yuqing@example.org"
to = ["duty@example.org"]
username = "yuqing"
password = "smtp-password-S3CRET"

[reply_mail]
host = "127.0.0.1"
port = 1
from = "xzxx@example.org"
username = "xzxx"
password = "reply-mail-password-S3CRET"

# No scheduled reports: the deliveries here are the alert's.
[report]
daily_at = ""
weekly_at = ""
monthly_at = ""

[[sources]]
name = "接口"
type = "json_api"
platform = "forum"
url = "http://{addr}/api"
interval = "1s"
allow_hosts = ["{addr}"]
respect_robots = false
items = "/items"
headers = {{ Authorization = "Bearer source-api-key-S3CRET" }}
[sources.fields]
id = "/id"
text = "/text"

[[sources]]
name = "县长信箱"
type = "imap"
url = "imap://127.0.0.1:1/INBOX"
user = "xzxx"
password = "mailbox-password-S3CRET"
allow_hosts = ["127.0.0.1"]
interval = "1s"
timeout = "2s"
"#
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let side = tmp.path();
    let srv = common::serve_cmd(
        &side.join("data"),
        side,
        &config,
        &[("YUQING_LOG", "debug")],
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let password = "admin-password-S3CRET-2026";
    let s = Session::admin(&srv.base, &side.join("serve.log"), password).await;
    let (st, v) = s
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "脚本"})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let api_token = v["token"].as_str().expect("token").to_owned();
    let r = c
        .get(format!("{}/api/v1/me", srv.base))
        .bearer_auth(&api_token)
        .send()
        .await
        .expect("me");
    assert_eq!(r.status().as_u16(), 200);
    let now = chrono::Utc::now().to_rfc3339();
    let st = common::push_posts(
        &c,
        &srv.base,
        TOKEN,
        &["s1".to_owned()],
        &format!("某中学食堂饭菜变质 {now}"),
    )
    .await;
    assert_eq!(st, Some(200));
    // Long enough for failed deliveries and polls to be logged.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let cookie = s.cookie.split('=').nth(1).expect("cookie value").to_owned();
    drop(srv);
    let log = std::fs::read_to_string(side.join("serve.log")).expect("log");
    // The paths that could leak did run and log.
    assert!(log.contains("DEBUG"), "debug logging was on");
    assert!(
        log.contains("值班"),
        "the failing deliveries are logged: {log}"
    );
    assert!(log.contains("接口"), "the failing source is logged");
    assert!(log.contains("县长信箱"), "the failing mailbox is logged");
    let mut all: Vec<&str> = secrets.to_vec();
    all.extend([
        password,
        api_token.as_str(),
        cookie.as_str(),
        s.csrf.as_str(),
    ]);
    for secret in all {
        assert!(!log.contains(secret), "a secret in the log: {secret}");
    }
}
