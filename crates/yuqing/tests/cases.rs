//! Case handling end to end: the CLI on a temporary data directory (organisation, a case
//! walked to closed, deadlines, statistics, audit verification before and after the
//! database file is tampered with), and the HTTP API of a real `yuqing serve`.

mod common;

use chrono::{Duration, FixedOffset, Utc};
use common::bin;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;

const ORG: &str = r#"
[[units]]
id = "town"
name = "某镇"
kind = "organisation"

[[units]]
id = "town-edu"
name = "镇教育办"
kind = "department"
parent = "town"

[[units]]
id = "town-roads"
name = "镇交通办"
kind = "department"
parent = "town"

[[users]]
id = "admin"
name = "管理员"
grants = [{ unit = "town", role = "admin" }]

[[users]]
id = "leader"
name = "镇领导"
grants = [{ unit = "town", role = "leader" }]

[[users]]
id = "analyst"
name = "监测员"
grants = [{ unit = "town", role = "analyst" }]

[[users]]
id = "edu-liaison"
name = "教育信息员"
grants = [{ unit = "town-edu", role = "liaison" }]

[[users]]
id = "roads-liaison"
name = "交通信息员"
grants = [{ unit = "town-roads", role = "liaison" }]
"#;

fn yq(data: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run yuqing")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = yq(data, args);
    assert!(
        out.status.success(),
        "yuqing {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A negative item registered by the analyst, collected 3 h ago: its 1 h leading-group
/// deadline has passed (a 督办 is due).
fn late_negative_case(data: &Path) -> Value {
    let collected = (Utc::now() - Duration::hours(3)).to_rfc3339();
    json_of(&ok(
        data,
        &[
            "case",
            "new",
            "--as",
            "analyst",
            "--unit",
            "town",
            "--title",
            "网帖反映食堂卫生问题",
            "--negative",
            "--collected",
            &collected,
            "--json",
        ],
    ))
}

fn json_of(s: &str) -> Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn act(data: &Path, id: &str, user: &str, version: u64, action: Value) -> Value {
    json_of(&ok(
        data,
        &[
            "case",
            "act",
            id,
            "--as",
            user,
            "--version",
            &version.to_string(),
            &action.to_string(),
            "--json",
        ],
    ))
}

#[test]
fn cli_case_lifecycle_stats_and_audit() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let org = tmp.path().join("org.toml");
    std::fs::write(&org, ORG).expect("org file");

    // Nothing before the organisation exists.
    assert!(!yq(&data, &["case", "list"]).status.success());
    let out = ok(&data, &["org", "import", org.to_str().expect("utf-8")]);
    assert!(out.contains("3 个单位，5 个用户"), "{out}");
    let shown = json_of(&ok(&data, &["org", "show", "--json"]));
    assert_eq!(shown["units"].as_array().map(Vec::len), Some(3));
    // Now that an administrator exists, a leader may not change the organisation.
    let out = yq(
        &data,
        &["org", "import", org.to_str().expect("u"), "--as", "leader"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("系统管理员"));

    // Register by hand and walk the case to closed.
    let case = json_of(&ok(
        &data,
        &[
            "case",
            "new",
            "--as",
            "analyst",
            "--unit",
            "town",
            "--title",
            "学校门口路灯不亮",
            "--channel",
            "hotline",
            "--json",
        ],
    ));
    let id = case["id"].as_str().expect("id").to_owned();
    let year = Utc::now()
        .with_timezone(&FixedOffset::east_opt(8 * 3600).expect("offset"))
        .format("%Y")
        .to_string();
    assert_eq!(id, format!("{year}-0001"));
    assert_eq!(case["version"], 1);
    assert_eq!(
        case["source"],
        json!({"type": "manual", "channel": "hotline"})
    );
    let c = act(
        &data,
        &id,
        "analyst",
        1,
        json!({"type": "judge", "level": "general", "facts": "路灯损坏", "negative": false}),
    );
    assert_eq!(c["state"], "judged");
    let due = (Utc::now() + Duration::days(1)).to_rfc3339();
    let out = ok(
        &data,
        &[
            "case",
            "assign",
            &id,
            "--as",
            "leader",
            "--version",
            "2",
            "--lead",
            "town-edu",
            "--due",
            &due,
            "--instruction",
            "请尽快修复",
        ],
    );
    assert!(out.contains("assigned"), "{out}");
    // Another department's liaison is out of scope; a stale version is a conflict.
    let out = yq(
        &data,
        &[
            "case",
            "act",
            &id,
            "--as",
            "roads-liaison",
            "--version",
            "3",
            r#"{"type":"record_handling","outcome":"true","actions":"x"}"#,
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("out_of_scope"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    act(
        &data,
        &id,
        "edu-liaison",
        3,
        json!({"type": "record_handling", "outcome": "true", "actions": "已更换灯泡"}),
    );
    let out = yq(
        &data,
        &[
            "case",
            "act",
            &id,
            "--as",
            "edu-liaison",
            "--version",
            "3",
            r#"{"type":"draft_reply","text":"已修复"}"#,
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("已被他人修改"));
    act(
        &data,
        &id,
        "edu-liaison",
        4,
        json!({"type": "draft_reply", "text": "路灯已修复，感谢监督"}),
    );
    act(&data, &id, "leader", 5, json!({"type": "approve_reply"}));
    act(
        &data,
        &id,
        "edu-liaison",
        6,
        json!({"type": "record_reply", "channel": "hotline", "text": "路灯已修复，感谢监督"}),
    );
    ok(
        &data,
        &[
            "case",
            "close",
            &id,
            "--as",
            "analyst",
            "--version",
            "7",
            "--summary",
            "已修复",
        ],
    );
    let view = json_of(&ok(&data, &["case", "show", &id, "--json"]));
    assert_eq!(view["case"]["state"], "closed");
    assert_eq!(view["case"]["version"], 8);
    assert_eq!(view["audit"].as_array().map(Vec::len), Some(8));
    assert!(view["facts"]["first_replied"].is_string());
    assert!(
        view["deadlines"]
            .as_array()
            .expect("deadlines")
            .iter()
            .all(|d| d["status"] == "met_on_time"),
        "{}",
        view["deadlines"]
    );
    let text = ok(&data, &["case", "show", &id]);
    assert!(text.contains("办结") && text.contains("首次回复"), "{text}");
    // Scoped listing.
    assert_eq!(ok(&data, &["case", "list", "--json"]).lines().count(), 1);
    assert_eq!(
        ok(&data, &["case", "list", "--as", "roads-liaison", "--json"])
            .lines()
            .count(),
        0
    );
    assert_eq!(
        ok(&data, &["case", "list", "--state", "handling", "--json"])
            .lines()
            .count(),
        0
    );

    // A negative item collected 3 h ago: the 1 h leading-group deadline is past (督办),
    // sent once.
    let late = late_negative_case(&data);
    assert_eq!(late["id"], format!("{year}-0002"));
    let sent = ok(&data, &["case", "tick", "--json"]);
    let sent: Vec<Value> = sent.lines().map(json_of).collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["kind"], "supervise");
    assert_eq!(sent[0]["what"], "notify_leading_group");
    assert_eq!(ok(&data, &["case", "tick", "--json"]).lines().count(), 0);

    // Statistics of the last and next day.
    let day = |d: i64| {
        (Utc::now() + Duration::days(d))
            .with_timezone(&FixedOffset::east_opt(8 * 3600).expect("offset"))
            .format("%Y-%m-%d")
            .to_string()
    };
    let s = json_of(&ok(
        &data,
        &["stats", "--from", &day(-1), "--to", &day(1), "--json"],
    ));
    let edu = &s["departments"][0];
    assert_eq!(edu["unit"], "town-edu");
    assert_eq!(
        [
            &edu["assigned"],
            &edu["replied"],
            &edu["closed"],
            &edu["on_time"],
            &edu["overdue"]
        ],
        [&json!(1), &json!(1), &json!(1), &json!(1), &json!(0)]
    );
    assert_eq!(edu["reply_rate"], 1.0);
    let analyst = &s["monitors"][0];
    assert_eq!(analyst["user"], "analyst");
    assert_eq!(analyst["found"], 2);
    assert_eq!(analyst["late"], 1);
    // Performance points (default weights): each case found first, general (the second is
    // not graded yet): +1 +1; the second missed its leading-group deadline: -2.
    let points = &s["points"][0];
    assert_eq!(points["user"], "analyst", "{s}");
    let kinds: Vec<(&str, i64, &str)> = points["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or(""),
                e["points"].as_i64().unwrap_or(0),
                e["target"].as_str().unwrap_or(""),
            )
        })
        .collect();
    let (c1, c2) = (format!("case:{id}"), format!("case:{year}-0002"));
    assert!(
        kinds.contains(&("found_first", 1, c1.as_str())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("found_first", 1, c2.as_str())),
        "{kinds:?}"
    );
    assert!(kinds.contains(&("late", -2, c2.as_str())), "{kinds:?}");
    assert_eq!((kinds.len(), &points["total"]), (3, &json!(0)));
    let text = ok(&data, &["stats", "--from", &day(-1), "--to", &day(1)]);
    assert!(text.contains("绩效考核分 / points"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("迟报") && l.contains("-2") && l.contains("网帖反映食堂卫生问题")),
        "{text}"
    );
    assert_eq!(
        s["overdue"],
        json!([]),
        "the one assigned case met its deadline"
    );

    // The audit chain is intact; keep its head.
    let out = ok(&data, &["audit", "verify"]);
    assert!(out.contains("审计日志完好"), "{out}");
    let anchor = ok(&data, &["audit", "anchor"]).trim().to_owned();
    let (seq, hash) = anchor.split_once(':').expect("SEQ:HASH");
    // org import, 8 steps of the first case, the second registration, one reminder.
    assert_eq!(seq, "11");
    assert_eq!(hash.len(), 64);
    assert!(ok(&data, &["audit", "verify", "--anchor", &anchor]).contains("完好"));

    // 领导加减分 from the command line: the leader takes 2 from the analyst for the late
    // case (a negative number is the points, not a flag); the analyst may not give
    // themself points; the statistics count it; revoked, it counts for nothing and is
    // listed as revoked.
    let out = ok(
        &data,
        &[
            "points",
            "adjust",
            "analyst",
            "-2",
            "--reason",
            "迟报负面舆情",
            "--case",
            &format!("{year}-0002"),
            "--as",
            "leader",
        ],
    );
    let adj: i64 = out
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the adjustment's id first: {out}"));
    let out = yq(
        &data,
        &[
            "points", "adjust", "analyst", "5", "--reason", "自评", "--as", "analyst",
        ],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("不能给自己加减分"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = json_of(&ok(
        &data,
        &["stats", "--from", &day(-1), "--to", &day(1), "--json"],
    ));
    assert_eq!(s["points"][0]["total"], -2, "{s}");
    let text = ok(&data, &["stats", "--from", &day(-1), "--to", &day(1)]);
    assert!(
        text.lines().any(|l| l.contains("领导加减分")
            && l.contains("迟报负面舆情")
            && l.contains("（leader）")),
        "{text}"
    );
    ok(
        &data,
        &["points", "revoke", &adj.to_string(), "--as", "leader"],
    );
    let listed: Vec<Value> = ok(
        &data,
        &[
            "points",
            "list",
            "--from",
            &day(-1),
            "--to",
            &day(1),
            "--json",
        ],
    )
    .lines()
    .map(json_of)
    .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (&listed[0]["id"], &listed[0]["revoked_by"]),
        (&json!(adj), &json!("leader"))
    );
    let s = json_of(&ok(
        &data,
        &["stats", "--from", &day(-1), "--to", &day(1), "--json"],
    ));
    assert_eq!(s["points"][0]["total"], 0, "revoked: {s}");

    // Someone edits the database behind the application's back.
    let db = data.join("yuqing.db");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = yuqing_store::SqliteStore::open(&db).await.expect("open");
        sqlx::query("UPDATE audit SET actor = 'leader' WHERE seq = 3")
            .execute(store.pool())
            .await
            .expect("tamper");
        store.pool().close().await;
    });
    let out = yq(&data, &["audit", "verify"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("篡改") && err.contains("序号 3"), "{err}");
    let out = yq(&data, &["audit", "verify", "--json"]);
    assert!(!out.status.success());
    let r = json_of(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(r["ok"], false);
    assert_eq!(r["tampered"]["kind"], "edited");
    assert_eq!(r["tampered"]["seq"], 3);
}

/// A running `yuqing serve`, stopped with SIGTERM on drop.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_cases_with_identity_versions_and_scope() {
    let tmp = tempfile::tempdir().expect("tmp");
    let srv = common::serve(tmp.path(), "[server]\npush_tokens = [\"t0ken\"]\n");
    let base = &srv.base;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let send =
        async |method: reqwest::Method, path: &str, user: Option<&str>, body: Option<Value>| {
            let mut r = c
                .request(method, format!("{base}/api/v1{path}"))
                .bearer_auth("t0ken");
            if let Some(u) = user {
                r = r.header("X-Yuqing-User", u);
            }
            if let Some(b) = body {
                r = r.json(&b);
            }
            let resp = r.send().await.expect("send");
            let status = resp.status().as_u16();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            (status, v)
        };
    use reqwest::Method;

    // The organisation over HTTP, as `admin` (the administrator serve created on its
    // first start, on the machine-client path).
    let units: Vec<Value> = toml::from_str::<Value>(ORG).expect("toml")["units"]
        .as_array()
        .expect("units")
        .clone();
    let users: Vec<Value> = toml::from_str::<Value>(ORG).expect("toml")["users"]
        .as_array()
        .expect("users")
        .clone();
    let (st, v) = send(
        Method::PUT,
        "/org",
        Some("admin"),
        Some(json!({"units": units, "users": users})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["users"].as_array().map(Vec::len), Some(5));
    // A mobile number (for @-mentions), an e-mail address (for copies) and a Feishu id (for
    // @ in Feishu) are shown to administrators and to their owner only.
    let (st, v) = send(
        Method::PUT,
        "/org",
        Some("admin"),
        Some(
            json!({"units": [], "users": [{"id": "edu-liaison", "name": "教育信息员",
            "mobile": "13900002222", "email": "edu@town.example.org", "feishu": "ou_edu",
            "grants": [{"unit": "town-edu", "role": "liaison"}]}]}),
        ),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let contact_of = |v: &Value, key: &str| {
        v["users"]
            .as_array()
            .and_then(|u| u.iter().find(|u| u["id"] == "edu-liaison"))
            .map(|u| u[key].clone())
    };
    assert_eq!(contact_of(&v, "mobile"), Some(json!("13900002222")));
    assert_eq!(contact_of(&v, "email"), Some(json!("edu@town.example.org")));
    for (who, sees) in [("admin", true), ("edu-liaison", true), ("leader", false)] {
        let (st, v) = send(Method::GET, "/org", Some(who), None).await;
        assert_eq!(st, 200, "{v}");
        for key in ["mobile", "email", "feishu"] {
            let m = contact_of(&v, key).expect("the liaison is listed");
            assert_eq!(m.is_string(), sees, "{who}: {key} {m}");
        }
    }
    for (key, bad, named) in [
        ("mobile", "139-0000", "手机号"),
        ("email", "edu@town", "邮箱"),
        ("feishu", "ou_<b>", "飞书"),
    ] {
        let mut user = json!({"id": "edu-liaison", "name": "教育信息员",
            "grants": [{"unit": "town-edu", "role": "liaison"}]});
        user[key] = json!(bad);
        let (st, v) = send(
            Method::PUT,
            "/org",
            Some("admin"),
            Some(json!({"units": [], "users": [user]})),
        )
        .await;
        assert_eq!(st, 400, "{key}: {v}");
        assert!(
            v["message"].as_str().unwrap_or("").contains(named),
            "{key}: {v}"
        );
    }

    let new_case = json!({
        "unit": "town",
        "source": {"type": "manual", "channel": "mailbox"},
        "title": "县长信箱：小区停水三天",
        "negative": true
    });
    // Identity: no token, no user, an unknown user.
    let r = c
        .post(format!("{base}/api/v1/cases"))
        .header("X-Yuqing-User", "analyst")
        .json(&new_case)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    let (st, v) = send(Method::POST, "/cases", None, Some(new_case.clone())).await;
    assert_eq!(st, 401, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("X-Yuqing-User")
    );
    let (st, _) = send(
        Method::POST,
        "/cases",
        Some("ghost"),
        Some(new_case.clone()),
    )
    .await;
    assert_eq!(st, 403);

    let (st, case) = send(Method::POST, "/cases", Some("analyst"), Some(new_case)).await;
    assert_eq!(st, 201, "{case}");
    let id = case["id"].as_str().expect("id").to_owned();
    assert_eq!(case["version"], 1);
    let judge = json!({"expected_version": 1, "kind": {"type": "judge", "level": "large", "facts": "停水属实", "negative": true}});
    let (st, v) = send(
        Method::POST,
        &format!("/cases/{id}/actions"),
        Some("analyst"),
        Some(judge.clone()),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["state"].as_str(), v["version"].as_u64()),
        (Some("judged"), Some(2))
    );
    // The same step against the version already changed: 409.
    let (st, v) = send(
        Method::POST,
        &format!("/cases/{id}/actions"),
        Some("analyst"),
        Some(judge),
    )
    .await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["reason"], "version_conflict");
    assert_eq!(v["code"], "conflict");
    // A liaison may not assign: 403 with the reason.
    let assign = json!({"expected_version": 2, "kind": {"type": "assign", "lead": "town-edu", "instruction": "请处理"}});
    let (st, v) = send(
        Method::POST,
        &format!("/cases/{id}/actions"),
        Some("edu-liaison"),
        Some(assign.clone()),
    )
    .await;
    assert_eq!(st, 403, "{v}");
    assert_eq!(v["reason"], "out_of_scope");
    let (st, v) = send(
        Method::POST,
        &format!("/cases/{id}/actions"),
        Some("leader"),
        Some(assign),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    // Reads are scoped.
    let (st, v) = send(
        Method::GET,
        &format!("/cases/{id}"),
        Some("edu-liaison"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["case"]["version"], 3);
    assert_eq!(v["audit"].as_array().map(Vec::len), Some(3));
    assert!(
        v["deadlines"]
            .as_array()
            .expect("deadlines")
            .iter()
            .any(|d| d["what"] == "notify_leading_group")
    );
    let (st, _) = send(
        Method::GET,
        &format!("/cases/{id}"),
        Some("roads-liaison"),
        None,
    )
    .await;
    assert_eq!(st, 403);
    let (_, v) = send(Method::GET, "/cases", Some("roads-liaison"), None).await;
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(0));
    let (_, v) = send(Method::GET, "/cases?state=assigned", Some("leader"), None).await;
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(1));
    let (st, _) = send(Method::GET, "/cases/2000-0001", Some("leader"), None).await;
    assert_eq!(st, 404);

    // Duty roster.
    let now = Utc::now();
    let (st, v) = send(
        Method::POST,
        "/duty",
        Some("leader"),
        Some(json!({"unit": "town", "user": "analyst", "starts_at": now - Duration::hours(1), "ends_at": now + Duration::hours(8)})),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let slot = v["duty"][0]["id"].as_i64().expect("slot id");
    let (_, v) = send(
        Method::GET,
        &format!("/duty?at={}", urlencode(&now.to_rfc3339())),
        Some("analyst"),
        None,
    )
    .await;
    assert_eq!(v["duty"][0]["user"], "analyst", "{v}");
    let (st, _) = send(
        Method::DELETE,
        &format!("/duty/{slot}"),
        Some("edu-liaison"),
        None,
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = send(
        Method::DELETE,
        &format!("/duty/{slot}"),
        Some("leader"),
        None,
    )
    .await;
    assert_eq!(st, 200);

    // Audit and statistics.
    let (st, v) = send(Method::GET, "/audit/verify", Some("leader"), None).await;
    assert_eq!(st, 200);
    assert_eq!(v["ok"], true, "{v}");
    // First start (org, admin's password), org, the liaison's mobile, 3 case steps, duty
    // add and remove.
    assert_eq!(v["entries"], 9);
    let (st, _) = send(Method::GET, "/audit", Some("leader"), None).await;
    assert_eq!(st, 403);
    let (_, v) = send(Method::GET, "/audit?limit=2", Some("admin"), None).await;
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(2));
    let today = now
        .with_timezone(&FixedOffset::east_opt(8 * 3600).expect("offset"))
        .format("%Y-%m-%d")
        .to_string();
    let (st, v) = send(
        Method::GET,
        &format!("/stats?from={today}&to={today}"),
        Some("leader"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["monitors"][0]["found"], 1, "{v}");
    assert_eq!(v["departments"][0]["assigned"], 1, "{v}");

    // 领导加减分: the town's leader adds 3 to the analyst for the case; a liaison may not;
    // the statistics count it, with its reason and who made it.
    let adjust = json!({"user": "analyst", "points": 3, "reason": "及时澄清谣言，效果良好"});
    let (st, v) = send(
        Method::POST,
        "/stats/adjustments",
        Some("edu-liaison"),
        Some(adjust.clone()),
    )
    .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = send(
        Method::POST,
        "/stats/adjustments",
        Some("leader"),
        Some(json!({"user": "analyst", "points": 300, "reason": "x"})),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("非零整数")),
        "{v}"
    );
    let (st, v) = send(
        Method::POST,
        "/stats/adjustments",
        Some("leader"),
        Some(adjust),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let adjustment = v["adjustment"]["id"].as_i64().expect("id");
    assert_eq!(v["adjustment"]["by"], "leader");
    let (_, v) = send(
        Method::GET,
        &format!("/stats?from={today}&to={today}"),
        Some("leader"),
        None,
    )
    .await;
    let analyst = v["points"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["user"] == "analyst"))
        .expect("the analyst's points");
    let entry = analyst["entries"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == "adjusted"))
        .expect("the adjustment");
    assert_eq!(
        (&entry["points"], &entry["adjustment"], &entry["by"]),
        (&json!(3), &json!(adjustment), &json!("leader")),
        "{v}"
    );
    assert_eq!(v["adjustments"][0]["reason"], "及时澄清谣言，效果良好");
    // The form offers whom the viewer may adjust: the leader the people of the town, never
    // themselves; a liaison nobody.
    let adjustable = |v: &Value| -> Vec<String> {
        v["adjustable"]
            .as_array()
            .expect("adjustable")
            .iter()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .collect()
    };
    let offered = adjustable(&v);
    assert!(
        offered.iter().any(|u| u == "analyst") && !offered.iter().any(|u| u == "leader"),
        "{offered:?}"
    );
    let (st, v) = send(
        Method::GET,
        &format!("/stats?from={today}&to={today}"),
        Some("edu-liaison"),
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert!(adjustable(&v).is_empty(), "{v}");

    // The same as an Excel workbook: its sheets, names instead of ids, the points.
    let r = c
        .get(format!(
            "{base}/api/v1/stats/export.xlsx?from={today}&to={today}"
        ))
        .bearer_auth("t0ken")
        .header("X-Yuqing-User", "leader")
        .send()
        .await
        .expect("export");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = r.bytes().await.expect("bytes");
    let files = common::unzip(&bytes);
    let text = |name: &str| String::from_utf8_lossy(&files[name]).into_owned();
    let book = text("xl/workbook.xml");
    for sheet in ["说明", "部门考核", "监测员考核", "考核分明细", "督办事项"] {
        assert!(book.contains(sheet), "{sheet}: {book}");
    }
    let strings = text("xl/sharedStrings.xml");
    for s in [
        "监测员",
        "首先发现",
        "考核分",
        "县长信箱：小区停水三天",
        "领导加减分",
        "及时澄清谣言，效果良好",
        "镇领导",
    ] {
        assert!(strings.contains(s), "{s}: {strings}");
    }
    assert!(
        !strings.contains("\"analyst\"") && strings.contains("镇教育办"),
        "units by name: {strings}"
    );
    let r = c
        .get(format!("{base}/api/v1/stats/export.xlsx?from={today}&to=x"))
        .bearer_auth("t0ken")
        .header("X-Yuqing-User", "leader")
        .send()
        .await
        .expect("export");
    assert_eq!(r.status().as_u16(), 400, "a bad period is refused");
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

/// A real `yuqing serve` with `[deadlines] remind_channels`: a negative item registered
/// three hours ago has let its one-hour leading-group deadline pass, and the server's first
/// deadline check sends the 督办 to the channel, naming the case, once.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_the_supervision_reminder_to_the_reminder_channel() {
    let (got, hook) = common::webhook().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let org = tmp.path().join("org.toml");
    std::fs::write(&org, ORG).expect("org file");
    ok(&data, &["org", "import", org.to_str().expect("utf-8")]);
    let case = late_negative_case(&data);
    let id = case["id"].as_str().expect("id").to_owned();
    let _srv = common::serve(
        tmp.path(),
        &format!(
            r#"
[deadlines]
remind_channels = ["镇值班群"]

[[channels]]
type = "webhook"
name = "镇值班群"
url = "http://{hook}/hook"

# No scheduled reports here: their announcements would reach the webhook too.
[report]
daily_at = ""
weekly_at = ""
monthly_at = ""
"#
        ),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while got.lock().expect("lock").is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Nothing else is due: the one message stays one.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let received = got.lock().expect("lock").clone();
    assert_eq!(received.len(), 1, "{received:?}");
    let m = &received[0];
    assert_eq!(m["kind"], "supervise", "{m}");
    assert!(
        m["alert_id"]
            .as_str()
            .is_some_and(|a| a.starts_with(&format!("remind:{id}/notify_leading_group/"))),
        "{m}"
    );
    let text = m["text"].as_str().expect("text");
    assert!(
        text.starts_with("【督办·一般】网帖反映食堂卫生问题"),
        "{text}"
    );
    assert!(text.contains(&format!("案件：{id} · 某镇")), "{text}");
    assert!(
        text.contains("“负面舆情报告领导小组”已超时，请某镇立即办理"),
        "{text}"
    );
    // The case shows where its 督办 went and that it arrived.
    let view = json_of(&ok(&data, &["case", "show", &id, "--json"]));
    let sent = &view["reminders_sent"];
    assert_eq!(sent.as_array().map(Vec::len), Some(1), "{view}");
    assert_eq!(sent[0]["channel"], "镇值班群");
    assert!(sent[0]["delivered_at"].is_string(), "{sent}");
    assert_eq!(sent[0]["key"], view["reminders"][0]["key"]);
}
