//! Reports (issue 6) over HTTP through a real `yuqing serve`, on a slice of the shared CED
//! data imported with `yuqing import`: the county's analyst makes the 日报 of the slice's
//! busiest day (its total is what `yuqing count` says for that Beijing day), reads it and
//! downloads it as Word, Excel and HTML (headers, UTF-8 file name, zip parts, the sandbox
//! CSP, hostile text escaped), PDF without LibreOffice is a 503 naming it; the commentary is
//! edited and returned to the draft; an unknown block is refused; a rebuild keeps the
//! figures; a report is read by the office of its unit and above only (not a liaison, not
//! a neighbouring county's analyst); bad inputs get zh + en messages.

mod common;

use chrono::{DateTime, FixedOffset, NaiveDate};
use common::{first_events, run, unzip, write_lines};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const ORG: &str = r#"{
  "units": [
    {"id": "county", "name": "某县", "kind": "organisation"},
    {"id": "edu", "name": "县教育局", "kind": "department", "parent": "county"},
    {"id": "other", "name": "邻县", "kind": "organisation"}
  ],
  "users": [
    {"id": "analyst", "name": "监测员", "grants": [{"unit": "county", "role": "analyst"}]},
    {"id": "leader", "name": "县领导", "grants": [{"unit": "county", "role": "leader"}]},
    {"id": "liaison", "name": "教育信息员", "grants": [{"unit": "edu", "role": "liaison"}]},
    {"id": "neighbour", "name": "邻县监测员", "grants": [{"unit": "other", "role": "analyst"}]}
  ]
}"#;

const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(1)>";

fn bj() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("offset")
}

struct Client {
    base: String,
    c: reqwest::Client,
}

impl Client {
    /// A client of the server at `base`, whose organisation it sets to [`ORG`].
    async fn with_org(base: &str) -> Client {
        let c = Client {
            base: base.to_owned(),
            c: reqwest::Client::new(),
        };
        let org: Value = serde_json::from_str(ORG).expect("org");
        let (st, v) = c.json(Method::PUT, "/api/v1/org", "admin", Some(org)).await;
        assert_eq!(st, 200, "{v}");
        c
    }

    /// A request by the machine token acting as `user`.
    fn req(&self, m: Method, path: &str, user: &str) -> reqwest::RequestBuilder {
        self.c
            .request(m, format!("{}{path}", self.base))
            .bearer_auth("t0ken")
            .header("X-Yuqing-User", user)
    }

    async fn json(&self, m: Method, path: &str, user: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.req(m, path, user);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.expect("send");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// A download: status, headers, bytes.
    async fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let r = self
            .req(Method::GET, path, "analyst")
            .send()
            .await
            .expect("send");
        let (st, h) = (r.status().as_u16(), r.headers().clone());
        (st, h, r.bytes().await.expect("body").to_vec())
    }
}

fn blocks<'a>(model: &'a Value, ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    model["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|s| s["blocks"].as_array().expect("blocks").iter())
        .filter(move |b| b["type"] == ty)
}

fn int(model: &Value, key: &str) -> i64 {
    let f = blocks(model, "figures")
        .flat_map(|b| b["items"].as_array().expect("items").iter())
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no figure {key}"));
    assert_eq!(f["value"]["t"], "int", "{key}: {f}");
    f["value"]["v"].as_i64().expect("int")
}

fn draft(model: &Value) -> &Value {
    blocks(model, "draft")
        .find(|b| b["key"] == "commentary")
        .expect("the commentary draft")
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ascii header")
}

/// Decodes `%XX` escapes (RFC 5987 values) as UTF-8.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf8")
}

/// A 400 with a message in both languages.
fn assert_invalid(st: u16, v: &Value, what: &str) {
    assert_eq!(st, 400, "{what}: {v}");
    assert_eq!(v["code"], "invalid_input", "{what}: {v}");
    let zh = v["message"].as_str().unwrap_or_default();
    let en = v["message_en"].as_str().unwrap_or_default();
    assert!(
        zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{what}: a Chinese message: {v}"
    );
    assert!(
        en.chars().filter(char::is_ascii_alphabetic).count() > 10 && en != zh,
        "{what}: an English message: {v}"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_over_http() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(30);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    run(&["import", src.to_str().expect("utf8"), "--data", d, "--json"]);

    // The busiest Beijing day of the slice.
    let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for l in &lines {
        let v: Value = serde_json::from_str(l).expect("json");
        if let Some(t) = v["published_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        {
            *per_day
                .entry(t.with_timezone(&bj()).date_naive())
                .or_default() += 1;
        }
    }
    let (&day, _) = per_day.iter().max_by_key(|x| (*x.1, *x.0)).expect("a day");
    let date = day.to_string();
    let next = day.succ_opt().expect("next day").to_string();

    let srv = common::serve(
        tmp.path(),
        "[server]\npush_tokens = [\"t0ken\"]\n\n[report]\ndaily_at = \"\"\nweekly_at = \"\"\nmonthly_at = \"\"\nsoffice = \"/nonexistent/soffice\"\n",
    );
    let c = Client::with_org(&srv.base).await;

    // A hostile document published that day, pushed by the machine client.
    let (st, v) = c
        .json(
            Method::POST,
            "/api/v1/documents",
            "analyst",
            Some(
                json!([{"id": "hostile-1", "platform": "weibo", "kind": "post",
                "published_at": format!("{date}T12:00:00+08:00"),
                "text": format!("县城停水三天 {HOSTILE} 居民反映无人回应"),
                "author": {"id": "evil", "name": HOSTILE}}]),
            ),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (st, _) = c
            .json(
                Method::GET,
                "/api/v1/documents/weibo/hostile-1",
                "analyst",
                None,
            )
            .await;
        if st == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pushed document is not stored"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // `yuqing count` reads the search index, which the server commits a moment after
    // storing: wait until the pushed document is searchable.
    let count = |q: &str| -> i64 {
        let out = run(&["count", q, "--data", d, "--since", &date, "--until", &next]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a count")
    };
    while count("停水三天") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pushed document is not indexed"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let counted = count("");
    assert!(counted > 1, "the day has data: {counted}");

    // ---- The 日报, made and read. ----
    let (st, v) = c
        .json(
            Method::POST,
            "/api/v1/reports",
            "analyst",
            Some(json!({"kind": "daily", "date": date})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let id = v["report"]["id"].as_i64().expect("id");
    assert_eq!(v["report"]["kind"], "daily");
    assert_eq!(v["report"]["created_by"], "analyst");
    assert_eq!(
        v["report"]["unit"], "county",
        "the report is the county office's"
    );
    // Only the office of that unit (and above) reads it: not a liaison, not the neighbour.
    for who in ["liaison", "neighbour"] {
        let (st, v) = c
            .json(Method::GET, &format!("/api/v1/reports/{id}"), who, None)
            .await;
        assert_eq!(st, 403, "{who} may not read the county's report: {v}");
    }
    let (st, v) = c
        .json(Method::GET, "/api/v1/reports?kind=daily", "neighbour", None)
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(
        v["reports"]
            .as_array()
            .expect("reports")
            .iter()
            .all(|r| r["id"] != id),
        "the neighbour's list leaves it out: {v}"
    );
    let (st, v) = c
        .json(
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            "leader",
            None,
        )
        .await;
    assert_eq!(st, 200, "the county's leader reads: {v}");
    let model = &v["report"]["model"];
    assert_eq!(model["title"], "舆情日报");
    let total = int(model, "total");
    assert_eq!(total, counted, "the 日报's total = yuqing count for {date}");
    assert_eq!(draft(model)["edited"], false);
    // The list has it, without the model.
    let (st, v) = c
        .json(Method::GET, "/api/v1/reports?kind=daily", "leader", None)
        .await;
    assert_eq!(st, 200, "{v}");
    let listed = v["reports"].as_array().expect("reports");
    assert!(
        listed.iter().any(|r| r["id"] == id && r["model"].is_null()),
        "{v}"
    );

    // ---- Downloads. ----
    let path = |f: &str| format!("/api/v1/reports/{id}/{f}");
    let (st, h, body) = c.get(&path("export.docx")).await;
    assert_eq!(st, 200);
    assert_eq!(
        header(&h, "content-type"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    let cd = header(&h, "content-disposition");
    assert!(cd.starts_with("attachment;"), "{cd}");
    assert!(
        cd.contains(&format!("filename=\"report-{id}.docx\"")),
        "{cd}"
    );
    let utf8 = cd
        .split("filename*=UTF-8''")
        .nth(1)
        .unwrap_or_else(|| panic!("an RFC 5987 file name: {cd}"));
    let name = percent_decode(utf8.trim());
    assert!(
        name.starts_with("舆情日报") && name.ends_with(".docx"),
        "{name}"
    );
    assert!(body.starts_with(b"PK"), "a zip");
    let files = unzip(&body);
    let doc = String::from_utf8(files["word/document.xml"].clone()).expect("utf8");
    assert!(doc.contains("舆情日报"), "the title in word/document.xml");
    assert!(
        doc.contains(&format!(">{total}<")),
        "the total in the document"
    );

    let (st, h, body) = c.get(&path("export.xlsx")).await;
    assert_eq!(st, 200);
    assert_eq!(
        header(&h, "content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(header(&h, "content-disposition").contains(".xlsx"));
    assert!(body.starts_with(b"PK"), "a zip");
    let files = unzip(&body);
    let sheets: String = files
        .iter()
        .filter(|(k, _)| k.starts_with("xl/worksheets/") || k.as_str() == "xl/sharedStrings.xml")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert!(
        sheets.contains(&format!("<v>{total}</v>")),
        "the total as a number"
    );

    let (st, h, body) = c.get(&path("export.json")).await;
    assert_eq!(st, 200);
    assert!(header(&h, "content-type").starts_with("application/json"));
    let j: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(int(&j, "total"), total);

    let (st, h, body) = c.get(&path("export.pdf")).await;
    assert_eq!(st, 503, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).expect("an error");
    assert_eq!(v["code"], "unavailable", "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("LibreOffice")
            && v["message_en"]
                .as_str()
                .unwrap_or_default()
                .contains("LibreOffice"),
        "{v}"
    );
    assert!(h.get("content-disposition").is_none());

    let (st, _, body) = c.get(&path("export.txt")).await;
    assert_eq!(st, 400, "{}", String::from_utf8_lossy(&body));
    let (st, _, body) = c.get(&path("report.docx")).await;
    assert_eq!(st, 404, "{}", String::from_utf8_lossy(&body));
    let (st, _, _) = c.get("/api/v1/reports/999999/export.docx").await;
    assert_eq!(st, 404);
    let (st, _, _) = c.get("/api/v1/reports/abc").await;
    assert_eq!(st, 400);

    // ---- Commentary: edited, then back to the draft; an unknown block is refused. ----
    let comment = "/api/v1/reports/{id}/commentary".replace("{id}", &id.to_string());
    let (st, v) = c
        .json(
            Method::PUT,
            &comment,
            "analyst",
            Some(json!({"commentary": {"commentary": "分析人员的点评"}})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (_, v) = c
        .json(
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            "analyst",
            None,
        )
        .await;
    let dr = draft(&v["report"]["model"]);
    assert_eq!(dr["text"], "分析人员的点评");
    assert_eq!(dr["edited"], true);
    assert_eq!(
        int(&v["report"]["model"], "total"),
        total,
        "a commentary edit keeps the figures as made"
    );
    assert_eq!(
        v["report"]["inputs"]["commentary"]["commentary"],
        "分析人员的点评"
    );
    let (st, h, body) = c.get(&path("export.html")).await;
    assert_eq!(st, 200);
    assert!(String::from_utf8_lossy(&body).contains("分析人员的点评"));
    assert!(header(&h, "content-type").starts_with("text/html"));
    let (st, v) = c
        .json(
            Method::PUT,
            &comment,
            "analyst",
            Some(json!({"commentary": {"commentary": ""}})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let dr = draft(&v["report"]["model"]);
    assert_eq!(dr["edited"], false);
    assert_ne!(dr["text"], "分析人员的点评");
    assert!(
        v["report"]["inputs"]
            .get("commentary")
            .is_none_or(|c| c.get("commentary").is_none())
    );
    let (st, v) = c
        .json(
            Method::PUT,
            &comment,
            "analyst",
            Some(json!({"commentary": {"no-such-block": "x"}})),
        )
        .await;
    assert_invalid(st, &v, "an unknown commentary block");
    let (st, v) = c
        .json(
            Method::PUT,
            &comment,
            "analyst",
            Some(json!({"text": "缺少 commentary"})),
        )
        .await;
    assert_invalid(st, &v, "a commentary body of another shape");
    let (st, v) = c
        .json(
            Method::PUT,
            &comment,
            "liaison",
            Some(json!({"commentary": {"commentary": "信息员的点评"}})),
        )
        .await;
    assert_eq!(st, 403, "{v}");

    // ---- Rebuild: the same figures. ----
    let (st, v) = c
        .json(
            Method::POST,
            &format!("/api/v1/reports/{id}/rebuild"),
            "analyst",
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["report"]["id"], id);
    let m = &v["report"]["model"];
    for k in [
        "total",
        "negative",
        "platforms",
        "previous_total",
        "peak_count",
    ] {
        assert_eq!(int(m, k), int(model, k), "{k} after the rebuild");
    }

    // ---- Hostile text is escaped in the HTML (the document, and commentary). ----
    let (st, v) = c
        .json(
            Method::PUT,
            &comment,
            "analyst",
            Some(json!({"commentary": {"commentary": format!("点评 {HOSTILE}")}})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = c
        .json(
            Method::POST,
            "/api/v1/reports",
            "analyst",
            Some(json!({"kind": "flash", "doc": "weibo:hostile-1"})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let flash = v["report"]["id"].as_i64().expect("id");
    for r in [id, flash] {
        let (st, h, body) = c.get(&format!("/api/v1/reports/{r}/export.html")).await;
        assert_eq!(st, 200);
        let csp = header(&h, "content-security-policy");
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        let html = String::from_utf8(body).expect("utf8");
        assert!(
            html.contains("&lt;script&gt;alert(1)"),
            "report {r} shows the hostile text, escaped"
        );
        assert!(!html.contains("<script>alert"), "report {r}: raw <script>");
        assert!(!html.contains("<img src=x"), "report {r}: raw <img>");
        assert!(
            !html.to_lowercase().contains("<script"),
            "report {r}: any script"
        );
    }

    // ---- Who may make reports, and bad inputs. ----
    let (st, v) = c
        .json(
            Method::POST,
            "/api/v1/reports",
            "liaison",
            Some(json!({"kind": "daily", "date": date})),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("liaison"),
        "{v}"
    );
    let (st, v) = c
        .json(
            Method::POST,
            &format!("/api/v1/reports/{id}/rebuild"),
            "liaison",
            None,
        )
        .await;
    assert_eq!(st, 403, "{v}");
    for (what, body) in [
        ("kind hourly", json!({"kind": "hourly", "date": date})),
        (
            "week 2026-W60",
            json!({"kind": "weekly", "week": "2026-W60"}),
        ),
        (
            "month 2026-13",
            json!({"kind": "monthly", "month": "2026-13"}),
        ),
        (
            "a malformed date",
            json!({"kind": "daily", "date": "2026-02-30"}),
        ),
        ("a flash without subject", json!({"kind": "flash"})),
        (
            "a digest without items",
            json!({"kind": "digest", "items": []}),
        ),
    ] {
        let (st, v) = c
            .json(Method::POST, "/api/v1/reports", "analyst", Some(body))
            .await;
        assert_invalid(st, &v, what);
    }
    let r = c
        .req(Method::POST, "/api/v1/reports", "analyst")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    let st = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_invalid(st, &v, "malformed JSON");
    let (st, v) = c
        .json(Method::GET, "/api/v1/reports?kind=hourly", "analyst", None)
        .await;
    assert_invalid(st, &v, "listing an unknown kind");
    drop(srv);
}

/// A real `yuqing serve` whose 日报 is due at once (`daily_at = "00:00"`, weekends too)
/// makes it, announces it through the outbox to a webhook, and the report's page data
/// (`GET /api/v1/reports/{id}`) says where the announcement went and when it arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_announces_the_scheduled_report_and_says_where_it_went() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (got, hook) = common::webhook().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let srv = common::serve(
        tmp.path(),
        &format!(
            r#"
[server]
push_tokens = ["t0ken"]

[report]
daily_at = "00:00"
weekends = true
weekly_at = ""
monthly_at = ""
base_url = "http://yuqing.example.org"

[[channels]]
type = "webhook"
name = "值班群"
url = "http://{hook}/hook"
"#
        ),
    );
    let c = Client::with_org(&srv.base).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while got.lock().expect("lock").is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let received = got.lock().expect("lock").clone();
    assert_eq!(received.len(), 1, "{received:?}");
    let m = &received[0];
    assert_eq!(m["type"], "report", "{m}");
    let today = chrono::Utc::now().with_timezone(&bj()).date_naive();
    assert_eq!(m["notice_id"], format!("report:daily:{today}"), "{m}");
    assert!(
        m["title"].as_str().is_some_and(|t| t.contains("舆情日报")),
        "{m}"
    );

    let (st, v) = c
        .json(Method::GET, "/api/v1/reports?kind=daily", "analyst", None)
        .await;
    assert_eq!(st, 200, "{v}");
    let id = v["reports"][0]["id"].as_i64().expect("the daily report");
    assert_eq!(
        m["link"],
        format!("http://yuqing.example.org/api/v1/reports/{id}/export.docx")
    );
    let (st, v) = c
        .json(
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            "analyst",
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let a = &v["announced"];
    assert_eq!(a.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(a[0]["channel"], "值班群");
    assert!(a[0]["delivered_at"].is_string(), "{a}");
    assert_eq!(
        (a[0]["attempts"].as_i64(), &a[0]["error"]),
        (Some(1), &Value::Null)
    );
}
