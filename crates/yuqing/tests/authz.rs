//! Authorisation matrix through a real `yuqing serve` (issue 5, "Tests"): every documented
//! `/api/v1` route refuses a request without identity (401), and for the routes that
//! decide by role or unit, each role × own unit / other unit gets what the rules say.
//! Users act with personal API tokens made by `yuqing user token`.
//!
//! The full matrix ([`matrix`]): **every** route of the router (and of openapi.json), each
//! method, with the exact status expected for no identity, a bad token, and each role
//! (administrator, leader, office analyst, department liaison, spokesperson, and an
//! analyst of another county). `the_matrix_names_every_route` fails when a route is added
//! to the router or the OpenAPI document without a row here.

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

[[users]]
id = "victim"
name = "忘记密码的信息员"
grants = [{ unit = "edu", role = "liaison" }]
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

// ---- the full matrix ------------------------------------------------------------------

/// The columns of the matrix: no identity, a made-up token, then each user (by token).
const COLUMNS: [&str; 8] = [
    "(nobody)",
    "(bad token)",
    "boss",
    "leader",
    "analyst",
    "liaison",
    "spokesperson",
    "outsider",
];
/// The users of the matrix (the columns after the first two).
const PEOPLE: [&str; 6] = [
    "boss",
    "leader",
    "analyst",
    "liaison",
    "spokesperson",
    "outsider",
];

/// What the matrix's requests point at (made by the setup; `Default` for the route list).
#[derive(Default)]
struct Ctx {
    /// A case of the county, registered by its analyst.
    case: String,
    /// Its version (after the attachment).
    version: u64,
    /// The SHA-256 of an attachment of that case.
    sha: String,
    event: i64,
    /// A reprint group, when the pushed reprints formed one.
    group: Option<i64>,
    alert: i64,
    /// A saved 日报, made by the county's analyst.
    report: i64,
    /// The county leader's adjustment of the analyst's points (加减分), to revoke.
    adjustment: i64,
    /// Per user: a plan, a duty slot and a second API token of their own, to delete.
    plans: std::collections::HashMap<String, i64>,
    duty: std::collections::HashMap<String, i64>,
    tokens: std::collections::HashMap<String, i64>,
}

/// The request (path and body) a user makes.
type Call<'a> = Box<dyn Fn(&str) -> (String, Option<Value>) + 'a>;

/// One route and method: the request each user makes, and the status each column gets.
struct Entry<'a> {
    method: &'static str,
    /// The route as the router writes it.
    route: &'static str,
    call: Call<'a>,
    expect: [u16; 8],
}

/// The same request for every column.
fn e(
    method: &'static str,
    route: &'static str,
    path: String,
    body: Option<Value>,
    expect: [u16; 8],
) -> Entry<'static> {
    Entry {
        method,
        route,
        call: Box::new(move |_| (path.clone(), body.clone())),
        expect,
    }
}

/// A request that depends on the user (their own object).
fn per<'a>(
    method: &'static str,
    route: &'static str,
    f: impl Fn(&str) -> (String, Option<Value>) + 'a,
    expect: [u16; 8],
) -> Entry<'a> {
    Entry {
        method,
        route,
        call: Box::new(f),
        expect,
    }
}

/// `ok` for every person, 401 without a valid identity.
fn everyone(ok: u16) -> [u16; 8] {
    [401, 401, ok, ok, ok, ok, ok, ok]
}

/// `ok` for the `allowed` people, 403 for the others, 401 without a valid identity.
fn only(ok: u16, allowed: &[&str]) -> [u16; 8] {
    let mut out = [401; 8];
    for (i, p) in PEOPLE.iter().enumerate() {
        out[i + 2] = if allowed.contains(p) { ok } else { 403 };
    }
    out
}

/// The whole matrix. Every request is safe to repeat for each column: writes that change
/// something act on the user's own object (plan, duty slot, token, password), and case
/// steps are made so that an allowed user is stopped after the permission check (a missing
/// field: 400; a stale version for attachments: 409) and changes nothing, while a refused
/// one gets 403.
fn matrix(x: &Ctx) -> Vec<Entry<'_>> {
    let case = &x.case;
    let doc = "/api/v1/documents/weibo/authz-1".to_string();
    let case_readers = ["boss", "leader", "analyst", "spokesperson"];
    let office = ["boss", "leader", "analyst"];
    let report_makers = ["leader", "analyst", "spokesperson", "outsider"];
    let report_readers = ["leader", "analyst", "spokesperson"];
    let public = [200, 200, 200, 200, 200, 200, 200, 200];
    vec![
        // The application and its public documents: no identity needed.
        e("GET", "/", "/".into(), None, public),
        e(
            "GET",
            "/assets/{*path}",
            "/assets/app.js".into(),
            None,
            public,
        ),
        e(
            "GET",
            "/api/openapi.json",
            "/api/openapi.json".into(),
            None,
            public,
        ),
        e("GET", "/healthz", "/healthz".into(), None, public),
        e("GET", "/metrics", "/metrics".into(), None, public),
        // Access. Login takes no identity: a wrong password is 401 for everybody.
        e(
            "POST",
            "/api/v1/login",
            "/api/v1/login".into(),
            Some(json!({"user": "nobody-here", "password": "wrong-password"})),
            [401; 8],
        ),
        e(
            "POST",
            "/api/v1/logout",
            "/api/v1/logout".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/me",
            "/api/v1/me".into(),
            None,
            everyone(200),
        ),
        per(
            "POST",
            "/api/v1/password",
            move |u| {
                (
                    "/api/v1/password".into(),
                    Some(
                        json!({"old": format!("{u}-password-0001"), "new": format!("{u}-password-0002")}),
                    ),
                )
            },
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            None,
            everyone(200),
        ),
        e(
            "POST",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            Some(json!({"name": "matrix"})),
            everyone(201),
        ),
        per(
            "DELETE",
            "/api/v1/tokens/{id}",
            move |u| {
                (
                    format!("/api/v1/tokens/{}", x.tokens.get(u).copied().unwrap_or(0)),
                    None,
                )
            },
            everyone(200),
        ),
        e(
            "POST",
            "/api/v1/users/{id}/password-reset",
            "/api/v1/users/victim/password-reset".into(),
            None,
            only(200, &["boss"]),
        ),
        // Documents: any identity pushes, reads and corrects.
        e(
            "POST",
            "/api/v1/documents",
            "/api/v1/documents".into(),
            Some(
                json!([{"id": "authz-3", "platform": "weibo", "kind": "post",
                "published_at": "2026-01-01T08:00:00+08:00", "text": "矩阵推送"}]),
            ),
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/documents/{platform}/{id}",
            doc.clone(),
            None,
            everyone(200),
        ),
        e(
            "POST",
            "/api/v1/documents/{platform}/{id}/corrections",
            format!("{doc}/corrections"),
            Some(json!({"sentiment": "negative", "by": "matrix"})),
            everyone(200),
        ),
        // Events.
        e(
            "GET",
            "/api/v1/events",
            "/api/v1/events".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/events/{id}",
            format!("/api/v1/events/{}", x.event),
            None,
            everyone(200),
        ),
        e(
            "PUT",
            "/api/v1/events/{id}/level",
            format!("/api/v1/events/{}/level", x.event),
            Some(json!({"level": "major", "by": "matrix", "reason": "矩阵测试"})),
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/events/{id}/documents",
            format!("/api/v1/events/{}/documents", x.event),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/events/{id}/tree",
            format!("/api/v1/events/{}/tree", x.event),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/groups/{id}",
            format!("/api/v1/groups/{}", x.group.unwrap_or(999_999)),
            None,
            everyone(if x.group.is_some() { 200 } else { 404 }),
        ),
        // Plans: any identity reads and edits them (each user their own plan).
        e(
            "GET",
            "/api/v1/plans",
            "/api/v1/plans".into(),
            None,
            everyone(200),
        ),
        per(
            "POST",
            "/api/v1/plans",
            move |u| {
                (
                    "/api/v1/plans".into(),
                    Some(json!({"name": format!("矩阵新方案-{u}"), "expression": "矩阵+探针"})),
                )
            },
            everyone(201),
        ),
        per(
            "PATCH",
            "/api/v1/plans/{id}",
            move |u| {
                (
                    format!("/api/v1/plans/{}", x.plans.get(u).copied().unwrap_or(0)),
                    Some(json!({"active": false})),
                )
            },
            everyone(200),
        ),
        per(
            "DELETE",
            "/api/v1/plans/{id}",
            move |u| {
                (
                    format!("/api/v1/plans/{}", x.plans.get(u).copied().unwrap_or(0)),
                    None,
                )
            },
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/plans/{id}/hits",
            "/api/v1/plans/1/hits".into(),
            None,
            everyone(200),
        ),
        e(
            "POST",
            "/api/v1/plans/preview",
            "/api/v1/plans/preview".into(),
            Some(json!({"expression": "授权矩阵探针"})),
            everyone(200),
        ),
        // Search and the dashboard.
        e(
            "GET",
            "/api/v1/search",
            "/api/v1/search?q=%E6%8E%A2%E9%92%88".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/search/export.xlsx",
            "/api/v1/search/export.xlsx?q=%E6%8E%A2%E9%92%88".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/count",
            "/api/v1/count?q=%E6%8E%A2%E9%92%88".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/dashboard",
            "/api/v1/dashboard".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/live",
            "/api/v1/live".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/sources",
            "/api/v1/sources".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/dead-letters",
            "/api/v1/dead-letters".into(),
            None,
            everyone(200),
        ),
        // Cases: the list is scoped; reading one, by unit; registering, by role and unit.
        e(
            "GET",
            "/api/v1/cases",
            "/api/v1/cases".into(),
            None,
            everyone(200),
        ),
        e(
            "POST",
            "/api/v1/cases",
            "/api/v1/cases".into(),
            Some(
                json!({"unit": "county", "source": {"type": "manual", "channel": "mailbox"},
                "title": "信箱：路灯"}),
            ),
            only(201, &["leader", "analyst"]),
        ),
        e(
            "GET",
            "/api/v1/cases/{id}",
            format!("/api/v1/cases/{case}"),
            None,
            only(200, &case_readers),
        ),
        // A judgement without facts at the case's version: the analysts and leaders of the
        // unit pass the role check and meet the missing facts (400, nothing changes);
        // everyone else is refused (403). (The version is checked first: a stale one is
        // 409 for all.)
        e(
            "POST",
            "/api/v1/cases/{id}/actions",
            format!("/api/v1/cases/{case}/actions"),
            Some(
                json!({"expected_version": x.version, "kind": {"type": "judge",
                "level": "general", "facts": "", "negative": false}}),
            ),
            [401, 401, 403, 400, 400, 403, 403, 403],
        ),
        e(
            "POST",
            "/api/v1/cases/{id}/attachments",
            format!("/api/v1/cases/{case}/attachments?name=a.txt&kind=text&expected_version=999"),
            Some(json!("证据")),
            [401, 401, 409, 409, 409, 403, 409, 403],
        ),
        e(
            "GET",
            "/api/v1/cases/{id}/attachments/{sha256}",
            format!("/api/v1/cases/{case}/attachments/{}", x.sha),
            None,
            only(200, &case_readers),
        ),
        e(
            "GET",
            "/api/v1/deadlines",
            "/api/v1/deadlines".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/stats",
            "/api/v1/stats?from=2026-01-01&to=2026-12-31".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/stats/export.xlsx",
            "/api/v1/stats/export.xlsx?from=2026-01-01&to=2026-12-31".into(),
            None,
            everyone(200),
        ),
        // 领导加减分: a leader over the person's unit; 0 points stops the leader after the
        // permission check (400), and a revocation is the same whoever repeats it.
        e(
            "POST",
            "/api/v1/stats/adjustments",
            "/api/v1/stats/adjustments".into(),
            Some(json!({"user": "analyst", "points": 0, "reason": "矩阵"})),
            only(400, &["leader"]),
        ),
        e(
            "POST",
            "/api/v1/stats/adjustments/{id}/revoke",
            format!("/api/v1/stats/adjustments/{}/revoke", x.adjustment),
            None,
            only(200, &["leader"]),
        ),
        // The organisation: everyone known reads it; administrators change it.
        e(
            "GET",
            "/api/v1/org",
            "/api/v1/org".into(),
            None,
            everyone(200),
        ),
        e(
            "PUT",
            "/api/v1/org",
            "/api/v1/org".into(),
            Some(
                json!({"units": [{"id": "edu", "name": "县教育局", "kind": "department",
                "parent": "county"}], "users": []}),
            ),
            only(200, &["boss"]),
        ),
        // The duty roster: read by all; written by the county's administrator, leader or
        // analyst (each removes a slot of their own).
        e(
            "GET",
            "/api/v1/duty",
            "/api/v1/duty".into(),
            None,
            everyone(200),
        ),
        e(
            "POST",
            "/api/v1/duty",
            "/api/v1/duty".into(),
            Some(json!({"unit": "county", "user": "analyst",
                "starts_at": "2027-02-01T00:00:00+08:00", "ends_at": "2027-02-01T08:00:00+08:00"})),
            only(201, &office),
        ),
        per(
            "DELETE",
            "/api/v1/duty/{id}",
            move |u| {
                (
                    format!("/api/v1/duty/{}", x.duty.get(u).copied().unwrap_or(0)),
                    None,
                )
            },
            only(200, &office),
        ),
        // Alerts: the inbox is everyone's; the first acknowledgement stands.
        e(
            "GET",
            "/api/v1/alerts",
            "/api/v1/alerts".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/alerts/{id}",
            format!("/api/v1/alerts/{}", x.alert),
            None,
            everyone(200),
        ),
        e(
            "POST",
            "/api/v1/alerts/{id}/ack",
            format!("/api/v1/alerts/{}/ack", x.alert),
            None,
            everyone(200),
        ),
        // A verdict, like an acknowledgement, is anyone's on duty; the last one stands.
        e(
            "POST",
            "/api/v1/alerts/{id}/verdict",
            format!("/api/v1/alerts/{}/verdict", x.alert),
            Some(json!({"verdict": "confirmed", "note": "矩阵"})),
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/alerts/quality",
            "/api/v1/alerts/quality".into(),
            None,
            everyone(200),
        ),
        // Audit: the log for administrators; its verification for everyone known.
        e(
            "GET",
            "/api/v1/audit",
            "/api/v1/audit".into(),
            None,
            only(200, &["boss"]),
        ),
        e(
            "GET",
            "/api/v1/audit/verify",
            "/api/v1/audit/verify".into(),
            None,
            everyone(200),
        ),
        // Settings shown on the admin page (no secrets).
        e(
            "GET",
            "/api/v1/special-periods",
            "/api/v1/special-periods".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/channels",
            "/api/v1/channels".into(),
            None,
            everyone(200),
        ),
        e(
            "GET",
            "/api/v1/alert-rules",
            "/api/v1/alert-rules".into(),
            None,
            everyone(200),
        ),
        // Reports are the office's (leader, analyst, spokesperson): not a liaison's or a plain
        // administrator's. The report of the setup belongs to the county (its analyst made
        // it): the other county's analyst may make their own (201) and list theirs, but
        // not read, edit or rebuild this one (403).
        e(
            "GET",
            "/api/v1/reports",
            "/api/v1/reports?kind=daily".into(),
            None,
            only(200, &report_makers),
        ),
        e(
            "POST",
            "/api/v1/reports",
            "/api/v1/reports".into(),
            Some(json!({"kind": "daily", "date": "2026-01-01"})),
            only(201, &report_makers),
        ),
        e(
            "GET",
            "/api/v1/reports/{id}",
            format!("/api/v1/reports/{}", x.report),
            None,
            only(200, &report_readers),
        ),
        e(
            "GET",
            "/api/v1/reports/{id}/{file}",
            format!("/api/v1/reports/{}/export.docx", x.report),
            None,
            only(200, &report_readers),
        ),
        e(
            "PUT",
            "/api/v1/reports/{id}/commentary",
            format!("/api/v1/reports/{}/commentary", x.report),
            Some(json!({"commentary": {"commentary": "矩阵点评"}})),
            only(200, &report_readers),
        ),
        e(
            "POST",
            "/api/v1/reports/{id}/rebuild",
            format!("/api/v1/reports/{}/rebuild", x.report),
            None,
            only(200, &report_readers),
        ),
    ]
}

/// Every `(METHOD, route)` of the router in `crates/yuqing-web/src` (`.route("…", get(…)
/// .post(…))`), read from the source as `tests/openapi.rs` does.
fn routed() -> std::collections::BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../yuqing-web/src");
    let mut text = std::fs::read_to_string(format!("{dir}/api.rs")).expect("api.rs");
    for e in std::fs::read_dir(format!("{dir}/api"))
        .expect("api dir")
        .flatten()
    {
        text.push_str(&std::fs::read_to_string(e.path()).expect("api module"));
    }
    let mut out = std::collections::BTreeSet::new();
    let parts: Vec<&str> = text.split(".route(").skip(1).collect();
    for part in parts {
        let part = part.trim_start();
        let Some(rest) = part.strip_prefix('"') else {
            continue;
        };
        let Some(end) = rest.find('"') else { continue };
        let route = &rest[..end];
        // The handlers of this route: up to the next layer of the whole router.
        let handlers = &rest[end..];
        let handlers = handlers
            .find(".layer(axum::middleware")
            .map_or(handlers, |i| &handlers[..i]);
        for m in ["get", "post", "put", "patch", "delete"] {
            let mut at = 0;
            while let Some(i) = handlers[at..].find(&format!("{m}(")) {
                let abs = at + i;
                let before = handlers[..abs].chars().last().unwrap_or(' ');
                if !before.is_alphanumeric() && before != '_' && before != ':' {
                    out.insert((m.to_uppercase(), route.to_owned()));
                }
                at = abs + m.len() + 1;
            }
        }
    }
    out
}

#[test]
fn the_matrix_names_every_route() {
    let ctx = Ctx::default();
    let rows = matrix(&ctx);
    let mut named = std::collections::BTreeSet::new();
    for r in &rows {
        assert!(
            named.insert((r.method.to_owned(), r.route.to_owned())),
            "{} {} twice in the matrix",
            r.method,
            r.route
        );
    }
    let routed = routed();
    assert!(routed.len() > 50, "read the routes: {routed:?}");
    let spec: Value = serde_json::from_str(include_str!("../../yuqing-web/assets/openapi.json"))
        .expect("openapi");
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        for m in ops.as_object().expect("ops").keys() {
            documented.insert((m.to_uppercase(), path.clone()));
        }
    }
    let missing: Vec<_> = routed
        .union(&documented)
        .filter(|k| !named.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorisation matrix (add one to matrix() in tests/authz.rs): {missing:?}"
    );
    let stale: Vec<_> = named.difference(&routed).collect();
    assert!(
        stale.is_empty(),
        "matrix rows for routes that do not exist: {stale:?}"
    );
}

/// `yuqing user passwd USER` with the password on stdin.
fn set_password(data: &Path, user: &str, password: &str) {
    use std::io::Write;
    let mut child = bin()
        .args(["user", "passwd", user, "--data"])
        .arg(data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_by_identity() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().expect("tmp");
    let srv = common::serve(
        tmp.path(),
        r#"
[server]
push_tokens = ["m4chine"]

[[plans]]
name = "授权测试"
expression = "授权矩阵探针"

[[alert_rules]]
name = "授权"
plans = ["授权测试"]

[report]
daily_at = ""
weekly_at = ""
monthly_at = ""
soffice = "/nonexistent/soffice"
"#,
    );
    let data = tmp.path().join("data");
    let base = srv.base.clone();
    let http = reqwest::Client::new();
    let machine = |m: reqwest::Method, path: &str| {
        http.request(m, format!("{base}{path}"))
            .bearer_auth("m4chine")
            .header("X-Yuqing-User", "boss")
    };
    let json_of = async |r: reqwest::RequestBuilder| -> (u16, Value) {
        let r = r.send().await.expect("send");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    };

    // The organisation, tokens and passwords.
    let org: Value = toml::from_str::<Value>(ORG).expect("toml");
    let (st, v) = json_of(
        http.put(format!("{base}/api/v1/org"))
            .bearer_auth("m4chine")
            .header("X-Yuqing-User", "admin")
            .json(&json!({"units": org["units"], "users": org["users"]})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let mut tokens = std::collections::HashMap::new();
    for u in PEOPLE {
        tokens.insert(u, token(&data, u));
        set_password(&data, u, &format!("{u}-password-0001"));
    }
    set_password(&data, "victim", "victim-password-0001");
    let mut x = Ctx::default();
    let as_user = |m: reqwest::Method, path: &str, u: &str| {
        http.request(m, format!("{base}{path}"))
            .bearer_auth(&tokens[u])
    };
    for u in PEOPLE {
        let (st, v) = json_of(
            as_user(reqwest::Method::POST, "/api/v1/tokens", u).json(&json!({"name": "to revoke"})),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        x.tokens
            .insert(u.to_owned(), v["id"].as_i64().expect("token id"));
        let (st, v) = json_of(
            machine(reqwest::Method::POST, "/api/v1/plans")
                .json(&json!({"name": format!("矩阵-{u}"), "expression": format!("矩阵+{u}")})),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        x.plans
            .insert(u.to_owned(), v["plan"]["id"].as_i64().expect("plan id"));
    }
    // A duty slot per user, to remove.
    let slots: Vec<Value> = PEOPLE
        .iter()
        .enumerate()
        .map(|(i, _)| {
            json!({"unit": "county", "user": "analyst",
                "starts_at": format!("2027-03-{:02}T00:00:00+08:00", i + 1),
                "ends_at": format!("2027-03-{:02}T08:00:00+08:00", i + 1)})
        })
        .collect();
    let (st, v) = json_of(machine(reqwest::Method::POST, "/api/v1/duty").json(&slots)).await;
    assert_eq!(st, 201, "{v}");
    for (u, slot) in PEOPLE.iter().zip(v["duty"].as_array().expect("slots")) {
        x.duty
            .insert((*u).to_owned(), slot["id"].as_i64().expect("slot id"));
    }

    // Documents (two reprints), the alert they raise, their event and group.
    let now = chrono::Utc::now().to_rfc3339();
    let text = "授权矩阵探针：某县城区停水三天，居民反映无人回应";
    let (st, v) = json_of(machine(reqwest::Method::POST, "/api/v1/documents").json(&json!([
        {"id": "authz-1", "platform": "weibo", "kind": "post", "published_at": now, "text": text},
        {"id": "authz-2", "platform": "news", "kind": "article", "published_at": now, "text": text,
         "url": "https://news.example.cn/a/1"}
    ])))
    .await;
    assert_eq!(st, 200, "{v}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, v) = json_of(machine(reqwest::Method::GET, "/api/v1/alerts")).await;
        if let Some(id) = v["alerts"][0]["id"].as_i64() {
            x.alert = id;
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no alert: {v}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (st, d) = json_of(machine(
        reqwest::Method::GET,
        "/api/v1/documents/weibo/authz-1",
    ))
    .await;
    assert_eq!(st, 200, "{d}");
    x.event = d["event_id"].as_i64().expect("event id");
    x.group = d["group_id"].as_i64();

    // A case of the county with an attachment, by its analyst.
    let (st, case) = json_of(
        as_user(reqwest::Method::POST, "/api/v1/cases", "analyst").json(
            &json!({"unit": "county", "source": {"type": "manual", "channel": "hotline"},
            "title": "热线：县城停水"}),
        ),
    )
    .await;
    assert_eq!(st, 201, "{case}");
    x.case = case["id"].as_str().expect("id").to_owned();
    let (st, v) = json_of(
        as_user(
            reqwest::Method::POST,
            &format!(
                "/api/v1/cases/{}/attachments?name=a.txt&kind=text&expected_version=1",
                x.case
            ),
            "analyst",
        )
        .body("现场说明"),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    x.version = v["version"].as_u64().expect("version");
    x.sha = v["attachments"][0]["file"]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();

    // A 日报 of today, by the county's analyst: read, exported, edited and rebuilt below.
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset"))
        .date_naive()
        .to_string();
    let (st, v) = json_of(
        as_user(reqwest::Method::POST, "/api/v1/reports", "analyst")
            .json(&json!({"kind": "daily", "date": today})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    x.report = v["report"]["id"].as_i64().expect("report id");

    // The county leader's 加减分 of the analyst: revoked below (again and again: a second
    // revocation changes nothing).
    let (st, v) = json_of(
        as_user(reqwest::Method::POST, "/api/v1/stats/adjustments", "leader")
            .json(&json!({"user": "analyst", "points": 2, "reason": "矩阵探针"})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    x.adjustment = v["adjustment"]["id"].as_i64().expect("adjustment id");

    // The matrix, column by column; every mismatch is collected and reported at once.
    let c = Client {
        base: base.clone(),
        c: reqwest::Client::new(),
    };
    let mut wrong = Vec::new();
    for row in matrix(&x) {
        for (col, want) in COLUMNS.iter().zip(row.expect) {
            let user = if col.starts_with('(') { "boss" } else { *col };
            let (path, body) = (row.call)(user);
            let auth = match *col {
                "(nobody)" => None,
                "(bad token)" => Some("yq_made-up-token"),
                u => Some(tokens[u].as_str()),
            };
            let got = c.call(auth, row.method, &path, body).await;
            if got != want {
                wrong.push(format!(
                    "{col:>13} {} {path}: got {got}, expected {want}",
                    row.method
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "authorisation matrix:\n{}",
        wrong.join("\n")
    );
    drop(srv);
}
