//! The web UI's alert, case, statistics and admin pages through a real `yuqing serve`:
//! the page modules are served with the application's security headers and build their
//! DOM without HTML parsing; and an HTTP-level walk of what the pages do, with the JSON
//! fields they read: an alert becomes a case that an analyst and a leader (two sessions,
//! with CSRF) carry through judgement, report, assignment, handling, a reply that is sent
//! back and approved, the published reply and the close; refusals answer with `reason`;
//! the deadline board, attachments, statistics and the audit verification.

mod common;

use common::bin;
use reqwest::Method;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const PAGES: [&str; 4] = ["alerts", "cases", "stats", "admin"];

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_are_served_with_the_csp_and_build_their_dom_as_text() {
    let tmp = tempfile::tempdir().expect("tmp");
    let srv = common::serve(tmp.path(), "[server]\npush_tokens = [\"t0ken\"]\n");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    for page in PAGES {
        let r = c
            .get(format!("{}/assets/pages/{page}.js", srv.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status().as_u16(), 200, "{page}");
        let h = r.headers().clone();
        let csp = h["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("script-src 'self'"), "{page}: {csp}");
        assert!(csp.contains("object-src 'none'"), "{page}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{page}");
        assert!(
            h["content-type"]
                .to_str()
                .expect("ct")
                .starts_with("text/javascript"),
            "{page}"
        );
        let js = r.text().await.expect("text");
        assert!(js.contains("export default"), "{page} is a page module");
        // Every string through t(), strings defined at the top of the module.
        assert!(js.contains("define({"), "{page} defines its strings");
        // Collected and user text only ever as text: no HTML parsing anywhere.
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(!js.contains(sink), "{page}.js uses {sink}");
        }
        // Nothing from a CDN.
        assert!(!js.contains("//cdn") && !js.contains("unpkg"), "{page}");
    }
    // The shell that loads them carries the same policy.
    let r = c.get(format!("{}/", srv.base)).send().await.expect("index");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("default-src 'self'")
    );
    drop(srv);
}

/// `yuqing ARGS --data DATA` with `stdin`, asserting success.
fn cli(data: &Path, args: &[&str], stdin: &str) {
    let mut child = bin()
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "yuqing {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A logged-in browser: the session cookie and the CSRF token app.js sends on writes.
struct Session {
    cookie: String,
    csrf: String,
}

struct Client {
    c: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(
        &self,
        method: Method,
        path: &str,
        who: Option<&Session>,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut r = self
            .c
            .request(method.clone(), format!("{}/api/v1/{path}", self.base));
        if let Some(s) = who {
            r = r.header("Cookie", format!("yuqing_session={}", s.cookie));
            if method != Method::GET {
                r = r.header("X-CSRF-Token", &s.csrf);
            }
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("send");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        (status, v, headers)
    }

    async fn get(&self, path: &str, who: &Session) -> Value {
        let (st, v, _) = self.call(Method::GET, path, Some(who), None).await;
        assert_eq!(st, 200, "GET {path}: {v}");
        v
    }

    /// A machine call (push token and X-Yuqing-User), as scripts and the CLI's peers do.
    async fn machine(&self, method: Method, path: &str, user: &str, body: Value) -> (u16, Value) {
        let r = self
            .c
            .request(method, format!("{}/api/v1/{path}", self.base))
            .bearer_auth("t0ken")
            .header("X-Yuqing-User", user)
            .json(&body)
            .send()
            .await
            .expect("send");
        let st = r.status().as_u16();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, user: &str, password: &str) -> (Session, Value) {
        let (st, v, h) = self
            .call(
                Method::POST,
                "login",
                None,
                Some(json!({"user": user, "password": password})),
            )
            .await;
        assert_eq!(st, 200, "login {user}: {v}");
        let cookie = h["set-cookie"]
            .to_str()
            .expect("cookie")
            .split(';')
            .next()
            .and_then(|kv| kv.strip_prefix("yuqing_session="))
            .expect("cookie value")
            .to_string();
        let csrf = v["csrf"].as_str().expect("csrf").to_string();
        (Session { cookie, csrf }, v)
    }

    /// Sets a first password with the CLI, logs in, changes it (as the login page makes a
    /// first login do) and returns the session.
    async fn person(&self, data: &Path, user: &str) -> Session {
        let first = format!("{user}-temporary-1");
        cli(data, &["user", "passwd", user], &format!("{first}\n"));
        let (s, v) = self.login(user, &first).await;
        assert_eq!(v["must_change"], true, "{v}");
        let new = format!("{user}-password-2026");
        let (st, v, _) = self
            .call(
                Method::POST,
                "password",
                Some(&s),
                Some(json!({"old": first, "new": new})),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let (s, me) = self.login(user, &new).await;
        assert_eq!(me["must_change"], false);
        s
    }

    /// Posts a step as the case page does: the version it shows and the kind.
    async fn act(&self, who: &Session, id: &str, version: u64, kind: Value) -> (u16, Value) {
        let (st, v, _) = self
            .call(
                Method::POST,
                &format!("cases/{id}/actions"),
                Some(who),
                Some(json!({"expected_version": version, "kind": kind})),
            )
            .await;
        (st, v)
    }
}

/// The step must succeed; returns the case's new version.
fn done(step: &str, (st, v): (u16, Value)) -> u64 {
    assert_eq!(st, 200, "{step}: {v}");
    v["version"].as_u64().expect("version")
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_becomes_a_case_that_an_analyst_and_a_leader_carry_to_close() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    // A channel that is down: its failed attempts are in the delivery log.
    let srv = common::serve(
        tmp.path(),
        r#"
[server]
push_tokens = ["t0ken"]

[[plans]]
name = "校园食品安全"
expression = "食堂+(变质|中毒)"

[[alert_rules]]
name = "校园"
plans = ["校园食品安全"]

[[channels]]
type = "webhook"
name = "值班"
url = "http://127.0.0.1:9/hook"
timeout = "1s"

# No scheduled reports here: their announcements would reach the webhook too.
[report]
daily_at = ""
weekly_at = ""
monthly_at = ""
"#,
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = Client {
        c: reqwest::Client::new(),
        base: srv.base.clone(),
    };

    // The organisation, as an administrator would enter it on the admin page.
    let org = json!({
        "units": [
            {"id": "county", "name": "某县", "kind": "organisation"},
            {"id": "county-edu", "name": "县教育局", "kind": "department", "parent": "county"},
            {"id": "county-health", "name": "县卫健委", "kind": "department", "parent": "county"}
        ],
        "users": [
            {"id": "analyst", "name": "监测员小王", "grants": [{"unit": "county", "role": "analyst"}]},
            {"id": "leader", "name": "李县长", "grants": [{"unit": "county", "role": "leader"}]},
            {"id": "spokes", "name": "发言人", "grants": [{"unit": "county", "role": "spokesperson"}]}
        ]
    });
    let (st, v) = c.machine(Method::PUT, "org", "admin", org).await;
    assert_eq!(st, 200, "{v}");
    // The admin page's tree reads units (id, name, kind, parent) and users with grants.
    let units = v["units"].as_array().expect("units");
    assert!(
        units.iter().any(|u| u["id"] == "county-edu"
            && u["parent"] == "county"
            && u["kind"] == "department"),
        "{v}"
    );
    assert!(v["users"][0]["grants"][0]["role"].is_string(), "{v}");

    let analyst = c.person(&data, "analyst").await;
    let leader = c.person(&data, "leader").await;
    let me = c.get("me", &analyst).await;
    // What the pages take the user's units and roles from.
    assert_eq!(me["roles"][0]["unit"], "county", "{me}");
    assert_eq!(me["roles"][0]["role"], "analyst", "{me}");

    // A document that hits the plan raises an alert.
    let now = chrono::Utc::now().to_rfc3339();
    let doc = json!({"id": "x1", "platform": "weibo", "kind": "post", "published_at": now,
        "url": "https://weibo.com/1/x1", "author": {"id": "7", "name": "<img src=x onerror=alert(1)>"},
        "text": "某中学食堂饭菜变质，学生腹泻 <script>alert(1)</script>"});
    let r =
        c.c.post(format!("{}/api/v1/documents", c.base))
            .bearer_auth("t0ken")
            .body(doc.to_string())
            .send()
            .await
            .expect("push");
    assert_eq!(r.status().as_u16(), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    let alert = loop {
        let v = c.get("alerts?limit=300", &analyst).await;
        if let Some(a) = v["alerts"].as_array().and_then(|a| a.first()) {
            break a.clone();
        }
        assert!(Instant::now() < deadline, "no alert: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The inbox row: level, plan, title, first publisher, time, hits, acknowledgement.
    let alert_id = alert["id"].as_i64().expect("id");
    assert!(alert["acked_at"].is_null());
    assert_eq!(alert["plan"], "校园食品安全");
    assert!(
        alert["raised_at"].is_string() && alert["hits"].is_i64(),
        "{alert}"
    );
    assert!(alert["event_id"].is_i64(), "{alert}");
    let m = &alert["message"];
    assert!(m["level"].is_string(), "{m}");
    // Texts come back exactly as collected: the page shows them as text.
    assert!(m["title"].is_string(), "{m}");
    assert_eq!(m["first_publisher"]["name"], "<img src=x onerror=alert(1)>");
    assert_eq!(m["link"], "https://weibo.com/1/x1");

    // The delivery log: the channel that is down has failed attempts, each with its state.
    let deadline = Instant::now() + Duration::from_secs(20);
    let log = loop {
        let v = c.get(&format!("alerts/{alert_id}"), &analyst).await;
        if v["deliveries"][0]["attempts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["state"] == "failed"))
        {
            break v;
        }
        assert!(Instant::now() < deadline, "no failed attempt: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let d = &log["deliveries"][0];
    assert_eq!(d["channel"], "值班");
    assert!(
        d["delivered_at"].is_null() && d["next_at"].is_string(),
        "{d}"
    );
    let a0 = &d["attempts"][0];
    assert!(
        a0["number"].is_u64() && a0["started_at"].is_string(),
        "{a0}"
    );
    assert!(a0["detail"].is_string(), "{a0}");
    assert!(log["notices"].is_array(), "{log}");
    assert!(log["message"]["why"].is_string(), "{log}");

    // Acknowledge (with the session's CSRF token; without it the write is refused).
    let (st, _, _) = c
        .call(
            Method::POST,
            &format!("alerts/{alert_id}/ack"),
            Some(&Session {
                cookie: analyst.cookie.clone(),
                csrf: "wrong".into(),
            }),
            None,
        )
        .await;
    assert_eq!(st, 403);
    let (st, v, _) = c
        .call(
            Method::POST,
            &format!("alerts/{alert_id}/ack"),
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["acked_by"], "analyst");

    // Open a case from the alert (the inbox's button) → the case page.
    let (st, case, _) = c
        .call(
            Method::POST,
            "cases",
            Some(&analyst),
            Some(json!({"unit": "county", "source": {"type": "alert", "id": alert_id}, "negative": true})),
        )
        .await;
    assert_eq!(st, 201, "{case}");
    let id = case["id"].as_str().expect("id").to_string();
    assert_eq!(case["state"], "registered");
    assert_eq!(case["source"]["type"], "alert");
    assert_eq!(case["version"], 1);
    let v = c.get("alerts?limit=300", &analyst).await;
    assert_eq!(v["alerts"][0]["case_id"], id.as_str(), "{v}");

    // The board: cases with state, title, level, unit, assignment; and their deadlines.
    let board = c.get("cases?limit=1000", &leader).await;
    let row = &board["cases"][0];
    for k in ["id", "state", "title", "unit", "negative", "version"] {
        assert!(!row[k].is_null(), "board row lacks {k}: {row}");
    }
    let dl = c.get("deadlines", &leader).await;
    let mine = &dl["cases"][id.as_str()];
    assert!(mine["supervised"].is_boolean(), "{dl}");
    let first = mine["deadlines"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["what"] == "notify_leading_group"))
        .unwrap_or_else(|| panic!("no notify deadline: {dl}"));
    assert_eq!(first["status"], "pending");
    assert!(
        first["due_at"].is_string() && first["met_at"].is_null(),
        "{first}"
    );
    assert!(dl["as_of"].is_string());

    // 研判 and 上报 by the analyst.
    let mut ver = 1;
    ver = done(
        "judge",
        c.act(
            &analyst,
            &id,
            ver,
            json!({"type": "judge", "level": "major",
            "facts": "经核，学校食堂部分饭菜变质", "negative": true, "emergency": false}),
        )
        .await,
    );
    ver = done(
        "report_up",
        c.act(
            &analyst,
            &id,
            ver,
            json!({"type": "report_up", "recipient": "leading_group",
            "summary": "已报领导小组"}),
        )
        .await,
    );
    // The analyst may not assign: 403 with the workflow's reason, nothing changed.
    let due = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let assign = json!({"type": "assign", "lead": "county-edu", "co": ["county-health"],
        "due_at": due, "instruction": "请教育局牵头核查，卫健委协助"});
    let (st, v) = c.act(&analyst, &id, ver, assign.clone()).await;
    assert_eq!(st, 403, "{v}");
    assert_eq!(v["reason"], "role_not_permitted", "{v}");
    assert!(
        v["message"].is_string() && v["message_en"].is_string(),
        "{v}"
    );
    // A stale version (the page shows 409 and offers to reload).
    let (st, v) = c.act(&leader, &id, ver - 1, assign.clone()).await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["reason"], "version_conflict", "{v}");
    // 批办 by the leader.
    ver = done("assign", c.act(&leader, &id, ver, assign).await);

    // The case page's view.
    let view = c.get(&format!("cases/{id}"), &leader).await;
    let cs = &view["case"];
    assert_eq!(cs["state"], "assigned");
    assert_eq!(cs["assignment"]["lead"], "county-edu");
    assert_eq!(cs["assignment"]["co"][0], "county-health");
    assert!(cs["assignment"]["due_at"].is_string());
    assert_eq!(cs["assignment"]["by"], "leader");
    let tl = cs["timeline"].as_array().expect("timeline");
    assert_eq!(tl.len(), 4, "{tl:?}");
    for e in tl {
        for k in [
            "version", "at", "actor", "action", "after", "unit", "detail",
        ] {
            assert!(!e[k].is_null(), "timeline entry lacks {k}: {e}");
        }
    }
    assert_eq!(tl[3]["action"], "assign");
    assert_eq!(tl[3]["before"], "reported");
    let dls = view["deadlines"].as_array().expect("deadlines");
    assert!(dls.iter().any(|d| d["what"] == "handling"), "{dls:?}");
    for d in dls {
        assert!(d["due_at"].is_string(), "{d}");
        assert!(
            ["met_on_time", "met_late", "pending", "overdue"]
                .contains(&d["status"].as_str().expect("status")),
            "{d}"
        );
        assert!(d["late"].is_boolean() && d["unit"].is_string(), "{d}");
    }
    let notify = dls
        .iter()
        .find(|d| d["what"] == "notify_leading_group")
        .expect("notify deadline");
    assert_eq!(notify["status"], "met_on_time", "{notify}");
    for k in [
        "first_collected",
        "first_registered",
        "first_reported",
        "first_assigned",
    ] {
        assert!(view["facts"][k].is_string(), "facts lack {k}: {view}");
    }
    assert!(view["reminders"].is_array() && view["supervised"].is_boolean());
    assert!(
        view["audit"].as_array().is_some_and(|a| a.len() == 4),
        "{view}"
    );

    // Evidence: uploaded as a raw body with the page's query, downloaded as a file.
    let evidence = "现场照片说明 <script>alert(1)</script>";
    let r = c
        .c
        .post(format!(
            "{}/api/v1/cases/{id}/attachments?name=%E7%8E%B0%E5%9C%BA.txt&kind=text&expected_version={ver}",
            c.base
        ))
        .header("Cookie", format!("yuqing_session={}", analyst.cookie))
        .header("X-CSRF-Token", &analyst.csrf)
        .body(evidence)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.expect("json");
    ver = v["version"].as_u64().expect("version");
    let f = &v["attachments"][0];
    assert_eq!(f["file"]["name"], "现场.txt");
    assert_eq!(f["file"]["kind"], "text");
    assert_eq!(f["file"]["size"], evidence.len());
    assert_eq!(f["by"], "analyst");
    assert!(f["at"].is_string());
    let sha = f["file"]["sha256"].as_str().expect("sha");
    let r =
        c.c.get(format!("{}/api/v1/cases/{id}/attachments/{sha}", c.base))
            .header("Cookie", format!("yuqing_session={}", leader.cookie))
            .send()
            .await
            .expect("download");
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .expect("cd")
            .starts_with("attachment"),
    );
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert_eq!(r.text().await.expect("body"), evidence);

    // 办理 with the outcome, a draft by the analyst, sent back and approved by the leader.
    ver = done(
        "record_handling",
        c.act(
            &analyst,
            &id,
            ver,
            json!({"type": "record_handling", "outcome": "true",
            "actions": "已封存问题食材，学生均已就医"}),
        )
        .await,
    );
    ver = done(
        "draft_reply",
        c.act(
            &analyst,
            &id,
            ver,
            json!({"type": "draft_reply", "text": "第一稿"}),
        )
        .await,
    );
    // The drafter cannot approve their own draft.
    let (st, v) = c
        .act(
            &analyst,
            &id,
            ver,
            json!({"type": "approve_reply", "comment": ""}),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(
        ["self_approval", "role_not_permitted"].contains(&v["reason"].as_str().unwrap_or("")),
        "{v}"
    );
    ver = done(
        "send_back",
        c.act(
            &leader,
            &id,
            ver,
            json!({"type": "send_back", "reason": "请写明处理结果"}),
        )
        .await,
    );
    let reply = "经核查，某中学食堂部分饭菜变质属实，已封存食材，涉事学生均已就医，无大碍。";
    ver = done(
        "draft_reply again",
        c.act(
            &analyst,
            &id,
            ver,
            json!({"type": "draft_reply", "text": reply}),
        )
        .await,
    );
    ver = done(
        "approve_reply",
        c.act(
            &leader,
            &id,
            ver,
            json!({"type": "approve_reply", "comment": "同意"}),
        )
        .await,
    );
    let view = c.get(&format!("cases/{id}"), &analyst).await;
    let drafts = view["case"]["drafts"].as_array().expect("drafts");
    assert_eq!(drafts.len(), 2);
    assert_eq!(drafts[0]["decision"]["type"], "sent_back");
    assert_eq!(drafts[0]["decision"]["reason"], "请写明处理结果");
    assert_eq!(drafts[1]["decision"]["type"], "approved");
    assert_eq!(drafts[1]["text"], reply);
    assert_eq!(drafts[1]["drafted_by"], "analyst");

    // Closing before the reply is recorded is refused with the reason.
    let (st, v) = c
        .act(
            &analyst,
            &id,
            ver,
            json!({"type": "close", "summary": "办结"}),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["reason"], "illegal_transition", "{v}");
    // The published reply (the approved text, a spokesperson), then the close.
    ver = done(
        "record_reply",
        c.act(&leader, &id, ver, json!({"type": "record_reply", "channel": "official_website",
            "link": "https://county.example.gov.cn/notice/1", "text": reply, "spokesperson": "spokes"}))
            .await,
    );
    ver = done(
        "close",
        c.act(
            &analyst,
            &id,
            ver,
            json!({"type": "close", "summary": "已回复并整改"}),
        )
        .await,
    );
    let view = c.get(&format!("cases/{id}"), &leader).await;
    let cs = &view["case"];
    assert_eq!(cs["state"], "closed");
    assert_eq!(cs["version"], ver);
    assert_eq!(cs["replies"][0]["channel"], "official_website");
    assert_eq!(cs["replies"][0]["spokesperson"], "spokes");
    assert_eq!(cs["closing_summary"], "已回复并整改");
    assert!(
        view["facts"]["first_replied"].is_string() && view["facts"]["first_closed"].is_string()
    );
    let actions: Vec<&str> = cs["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "register",
            "judge",
            "report_up",
            "assign",
            "attach",
            "record_handling",
            "draft_reply",
            "send_back",
            "draft_reply",
            "approve_reply",
            "record_reply",
            "close"
        ]
    );
    let actors: Vec<&str> = cs["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(actors.contains(&"analyst") && actors.contains(&"leader"));
    // A closed case leaves the default (open) deadline board.
    let dl = c.get("deadlines", &leader).await;
    assert!(dl["cases"][id.as_str()].is_null(), "{dl}");
    let dl = c.get("deadlines?state=closed", &leader).await;
    assert!(dl["cases"][id.as_str()]["deadlines"].is_array(), "{dl}");

    // 统计考核: the stats page's period query (bare dates, Beijing time).
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("tz"))
        .format("%Y-%m-%d")
        .to_string();
    let s = c
        .get(&format!("stats?from={today}&to={today}"), &leader)
        .await;
    let dept = s["departments"]
        .as_array()
        .expect("departments")
        .iter()
        .find(|d| d["unit"] == "county-edu")
        .unwrap_or_else(|| panic!("no county-edu in {s}"))
        .clone();
    assert_eq!(dept["assigned"], 1, "{dept}");
    assert_eq!(dept["replied"], 1, "{dept}");
    assert_eq!(dept["closed"], 1, "{dept}");
    assert_eq!(dept["reply_rate"], 1.0, "{dept}");
    assert!(dept["median_reply_secs"].is_i64(), "{dept}");
    let mon = &s["monitors"][0];
    assert_eq!(mon["user"], "analyst", "{s}");
    assert_eq!(mon["found"], 1, "{s}");
    assert!(s["as_of"].is_string());

    // The admin page: the audit log (administrators) and its verification.
    let (st, v) = c
        .machine(Method::GET, "audit?limit=50", "admin", Value::Null)
        .await;
    assert_eq!(st, 200, "{v}");
    let e = &v["entries"][0];
    for k in ["seq", "at", "actor", "action", "target", "hash"] {
        assert!(!e[k].is_null(), "audit entry lacks {k}: {e}");
    }
    let (st, v, _) = c.call(Method::GET, "audit", Some(&leader), None).await;
    assert_eq!(st, 403, "a leader does not read the whole log: {v}");
    let v = c.get("audit/verify", &leader).await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["entries"].as_u64().is_some_and(|n| n >= 12), "{v}");
    assert!(
        v["head"]["seq"].is_u64() && v["head"]["hash"].is_string(),
        "{v}"
    );
    // Special periods are read-only settings.
    let v = c.get("special-periods", &leader).await;
    assert!(v["special_periods"].is_array(), "{v}");
    // The roster the admin page edits.
    let slot = json!({"unit": "county", "user": "analyst",
        "starts_at": chrono::Utc::now().to_rfc3339(),
        "ends_at": (chrono::Utc::now() + chrono::Duration::hours(8)).to_rfc3339(),
        "position": 0, "note": "白班"});
    let (st, v, _) = c
        .call(Method::POST, "duty", Some(&leader), Some(slot))
        .await;
    assert_eq!(st, 201, "{v}");
    let now_q = chrono::Utc::now().to_rfc3339().replace('+', "%2B");
    let v = c.get(&format!("duty?at={now_q}"), &leader).await;
    assert_eq!(v["duty"][0]["user"], "analyst", "{v}");
    drop(srv);
}
