//! Authorisation matrix through a real `yuqing serve` (issue 5, "Tests"): every documented
//! `/api/v1` route refuses a request without identity (401), and for the routes that
//! decide by role or unit, each role × own unit / other unit gets what the rules say.
//! Users act with personal API tokens made by `yuqing user token`.

mod common;

use common::bin;
use serde_json::{Value, json};
use std::path::Path;

const ORG: &str = r#"
[[units]]
id = "county"
name = "某县"
kind = "organisation"

[[units]]
id = "edu"
name = "县教育局"
kind = "department"
parent = "county"

[[units]]
id = "other"
name = "邻县"
kind = "organisation"

[[users]]
id = "boss"
name = "系统管理员"
grants = [{ unit = "county", role = "admin" }, { unit = "other", role = "admin" }]

[[users]]
id = "leader"
name = "县领导"
grants = [{ unit = "county", role = "leader" }]

[[users]]
id = "analyst"
name = "监测员"
grants = [{ unit = "county", role = "analyst" }]

[[users]]
id = "liaison"
name = "教育信息员"
grants = [{ unit = "edu", role = "liaison" }]

[[users]]
id = "spokesperson"
name = "发言人"
grants = [{ unit = "county", role = "spokesperson" }]

[[users]]
id = "outsider"
name = "邻县监测员"
grants = [{ unit = "other", role = "analyst" }]
"#;

fn token(data: &Path, user: &str) -> String {
    let out = bin()
        .args(["user", "token", user, "--name", "authz", "--data"])
        .arg(data)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("yq_"))
        .expect("a yq_ token on stdout")
        .to_owned()
}

/// (method, path, body, users allowed, users refused with 403).
type Row = (
    &'static str,
    String,
    Option<Value>,
    &'static [&'static str],
    &'static [&'static str],
);

struct Client {
    base: String,
    c: reqwest::Client,
}

impl Client {
    async fn call(&self, auth: Option<&str>, method: &str, path: &str, body: Option<Value>) -> u16 {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut r = self.c.request(m, format!("{}{path}", self.base));
        if let Some(a) = auth {
            r = r.bearer_auth(a);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.expect("send").status().as_u16()
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_needs_an_identity_and_roles_decide_by_unit() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().expect("tmp");
    let srv = common::serve(tmp.path(), "[server]\npush_tokens = [\"m4chine\"]\n");
    let data = tmp.path().join("data");
    let c = Client {
        base: srv.base.clone(),
        c: reqwest::Client::new(),
    };

    // 1. Nobody: every documented /api/v1 route but login answers 401.
    let spec: Value = serde_json::from_str(include_str!("../../yuqing-web/assets/openapi.json"))
        .expect("openapi");
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/") || path == "/api/v1/login" {
            continue;
        }
        let concrete = path
            .replace("{platform}", "weibo")
            .replace("{id}", "1")
            .replace("{sha256}", &"0".repeat(64));
        for method in ops.as_object().expect("ops").keys() {
            let st = c
                .call(None, &method.to_uppercase(), &concrete, Some(json!({})))
                .await;
            assert_eq!(st, 401, "{method} {path} without identity");
            checked += 1;
        }
    }
    assert!(checked > 40, "checked {checked} operations");

    // 2. The organisation (by the machine token acting as the first-start admin), then a
    //    personal token per user.
    let units: Value = toml::from_str::<Value>(ORG).expect("toml");
    let r =
        c.c.put(format!("{}/api/v1/org", srv.base))
            .bearer_auth("m4chine")
            .header("X-Yuqing-User", "admin")
            .json(&json!({"units": units["units"], "users": units["users"]}))
            .send()
            .await
            .expect("org");
    assert_eq!(r.status().as_u16(), 200);
    let users = [
        "boss",
        "leader",
        "analyst",
        "liaison",
        "spokesperson",
        "outsider",
    ];
    let tokens: std::collections::HashMap<&str, String> =
        users.iter().map(|u| (*u, token(&data, u))).collect();
    let t = |u: &str| tokens[u].as_str();

    // A case of the county, registered by its analyst.
    let r =
        c.c.post(format!("{}/api/v1/cases", srv.base))
            .bearer_auth(t("analyst"))
            .json(
                &json!({"unit": "county", "source": {"type": "manual", "channel": "hotline"},
                      "title": "热线：县城停水"}),
            )
            .send()
            .await
            .expect("case");
    assert_eq!(r.status().as_u16(), 201);
    let case: Value = r.json().await.expect("json");
    let id = case["id"].as_str().expect("id").to_owned();

    // 3. The matrix: (route, method, body) × user → allowed (2xx) or refused (403).
    let judge = json!({"expected_version": 1, "kind": {"type": "judge", "level": "general",
                       "facts": "属实", "negative": false}});
    let matrix: Vec<Row> = vec![
        // Reading the case: its unit's people and those above; not a department liaison
        // it is not assigned to, not another county.
        (
            "GET",
            format!("/api/v1/cases/{id}"),
            None,
            &["boss", "leader", "analyst", "spokesperson"],
            &["liaison", "outsider"],
        ),
        // The audit log: administrators only.
        (
            "GET",
            "/api/v1/audit".into(),
            None,
            &["boss"],
            &["leader", "analyst", "liaison", "spokesperson", "outsider"],
        ),
        // The organisation: administrators change it.
        (
            "PUT",
            "/api/v1/org".into(),
            Some(
                json!({"units": [{"id": "edu", "name": "县教育局", "kind": "department",
                                    "parent": "county"}], "users": []}),
            ),
            &["boss"],
            &["leader", "analyst", "liaison", "spokesperson", "outsider"],
        ),
        // The duty roster of the county: its admin, leader or analyst.
        (
            "POST",
            "/api/v1/duty".into(),
            Some(json!({"unit": "county", "user": "analyst",
                         "starts_at": "2027-01-01T00:00:00+08:00", "ends_at": "2027-01-01T08:00:00+08:00"})),
            &["boss", "leader", "analyst"],
            &["liaison", "spokesperson", "outsider"],
        ),
        // Registering in the county: analysts, leaders (and liaisons only in their unit).
        (
            "POST",
            "/api/v1/cases".into(),
            Some(
                json!({"unit": "county", "source": {"type": "manual", "channel": "mailbox"},
                         "title": "信箱：路灯"}),
            ),
            &["leader", "analyst"],
            &["liaison", "spokesperson", "outsider"],
        ),
    ];
    for (method, path, body, allowed, refused) in &matrix {
        for u in *allowed {
            let st = c.call(Some(t(u)), method, path, body.clone()).await;
            assert!(
                (200..300).contains(&st),
                "{u} {method} {path}: {st}, expected 2xx"
            );
        }
        for u in *refused {
            let st = c.call(Some(t(u)), method, path, body.clone()).await;
            assert_eq!(st, 403, "{u} {method} {path}: expected 403");
        }
    }
    // Judging: analysts of the unit; others are refused by role or scope (the first allowed
    // call moves the case to version 2, so it is made last).
    for u in ["liaison", "outsider", "spokesperson"] {
        let st = c
            .call(
                Some(t(u)),
                "POST",
                &format!("/api/v1/cases/{id}/actions"),
                Some(judge.clone()),
            )
            .await;
        assert_eq!(st, 403, "{u} may not judge");
    }
    let st = c
        .call(
            Some(t("analyst")),
            "POST",
            &format!("/api/v1/cases/{id}/actions"),
            Some(judge.clone()),
        )
        .await;
    assert_eq!(st, 200, "the analyst judges");
    // A revoked or made-up token is 401, not 403.
    assert_eq!(
        c.call(Some("yq_not-a-token"), "GET", "/api/v1/cases", None)
            .await,
        401
    );
    drop(srv);
}
