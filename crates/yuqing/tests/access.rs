//! Logins and API tokens through a real `yuqing serve` (docs/security.md, "Access"): the
//! first start's one-time password on stderr, the session cookie and its flags, CSRF on
//! writes, the password that must change, lockout, personal API tokens (web and CLI) until
//! revoked, a liaison's session scoped to their unit, and the machine-token path kept.

mod common;

use common::bin;
use reqwest::Method;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

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

/// The one-time password serve printed on its first start (`None` when it printed none).
fn one_time_password(dir: &Path) -> Option<String> {
    let log = std::fs::read_to_string(dir.join("serve.log")).expect("serve.log");
    let line = log.lines().find(|l| l.contains("一次性密码："))?;
    let pw = line.split("一次性密码：").nth(1)?.trim();
    Some(pw.to_string())
}

/// `yuqing ARGS --data DATA` with `stdin`; returns stdout, asserting success.
fn cli(data: &Path, args: &[&str], stdin: &str) -> String {
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
    String::from_utf8(out.stdout).expect("utf-8")
}

struct Client {
    c: reqwest::Client,
    base: String,
}

/// How a request authenticates.
enum As<'a> {
    Nobody,
    /// Session cookie, with the CSRF header when `Some`.
    Cookie(&'a str, Option<&'a str>),
    Bearer(&'a str),
    /// Machine token and X-Yuqing-User.
    Machine(&'a str),
}

impl Client {
    async fn send(
        &self,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut r = self
            .c
            .request(method, format!("{}/api/v1{path}", self.base));
        match who {
            As::Nobody => {}
            As::Cookie(cookie, csrf) => {
                r = r.header("Cookie", format!("yuqing_session={cookie}"));
                if let Some(c) = csrf {
                    r = r.header("X-CSRF-Token", c);
                }
            }
            As::Bearer(t) => r = r.bearer_auth(t),
            As::Machine(u) => r = r.bearer_auth("t0ken").header("X-Yuqing-User", u),
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

    /// Logs in; returns (cookie value, csrf, body).
    async fn login(&self, user: &str, password: &str) -> (String, String, Value) {
        let (st, v, h) = self
            .send(
                Method::POST,
                "/login",
                As::Nobody,
                Some(json!({"user": user, "password": password})),
            )
            .await;
        assert_eq!(st, 200, "login {user}: {v}");
        let cookie = h
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .expect("set-cookie")
            .to_string();
        let value = cookie
            .split(';')
            .next()
            .and_then(|kv| kv.strip_prefix("yuqing_session="))
            .expect("cookie value")
            .to_string();
        let csrf = v["csrf"].as_str().expect("csrf").to_string();
        (value, csrf, v)
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_csrf_lockout_tokens_and_scope_through_serve() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let config = "[server]\npush_tokens = [\"t0ken\"]\n";
    let srv = common::serve(tmp.path(), config);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = Client {
        c: reqwest::Client::new(),
        base: srv.base.clone(),
    };

    // First start: the administrator's one-time password is on stderr.
    let otp = one_time_password(tmp.path()).expect("one-time password printed");
    assert_eq!(otp.chars().count(), 16, "{otp}");
    let log = std::fs::read_to_string(tmp.path().join("serve.log")).expect("log");
    assert!(
        log.contains("one-time password") && log.contains("admin"),
        "{log}"
    );

    // Login sets an HttpOnly, SameSite=Strict cookie (not Secure by default).
    let (st, v, h) = c
        .send(
            Method::POST,
            "/login",
            As::Nobody,
            Some(json!({"user": "admin", "password": otp})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let set = h["set-cookie"].to_str().expect("cookie");
    assert!(set.starts_with("yuqing_session="), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{flag} missing in {set}");
    }
    assert!(!set.contains("Secure"), "{set}");
    assert_eq!(v["must_change"], true);
    assert_eq!(v["user"], "admin");
    assert_eq!(v["roles"][0]["role"], "admin");
    let (admin, admin_csrf, _) = c.login("admin", &otp).await;

    // The password must change before anything else.
    let (st, v, _) = c
        .send(Method::GET, "/me", As::Cookie(&admin, None), None)
        .await;
    assert_eq!((st, &v["must_change"]), (200, &json!(true)), "{v}");
    assert_eq!(v["csrf"], admin_csrf);
    let (st, v, _) = c
        .send(Method::GET, "/cases", As::Cookie(&admin, None), None)
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(
        v["message_en"]
            .as_str()
            .unwrap_or("")
            .contains("change your password")
    );
    // A write with the cookie but without the CSRF token: 403; with it: OK.
    let new_pw = json!({"old": otp, "new": "admin-password-2026"});
    let (st, v, _) = c
        .send(
            Method::POST,
            "/password",
            As::Cookie(&admin, None),
            Some(new_pw.clone()),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(
        v["message_en"].as_str().unwrap_or("").contains("CSRF"),
        "{v}"
    );
    let (st, _, _) = c
        .send(
            Method::POST,
            "/password",
            As::Cookie(&admin, Some("wrong")),
            Some(new_pw.clone()),
        )
        .await;
    assert_eq!(st, 403);
    let (st, v, _) = c
        .send(
            Method::POST,
            "/password",
            As::Cookie(&admin, Some(&admin_csrf)),
            Some(json!({"old": otp, "new": "short"})),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    let (st, v, _) = c
        .send(
            Method::POST,
            "/password",
            As::Cookie(&admin, Some(&admin_csrf)),
            Some(new_pw),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (_, v, _) = c
        .send(Method::GET, "/me", As::Cookie(&admin, None), None)
        .await;
    assert_eq!(v["must_change"], false, "{v}");

    // The administrator imports the organisation with the session (and CSRF).
    let parsed: Value = toml::from_str(ORG).expect("toml");
    let org = json!({"units": parsed["units"], "users": parsed["users"]});
    let (st, _, _) = c
        .send(
            Method::PUT,
            "/org",
            As::Cookie(&admin, None),
            Some(org.clone()),
        )
        .await;
    assert_eq!(st, 403, "no CSRF");
    let (st, v, _) = c
        .send(
            Method::PUT,
            "/org",
            As::Cookie(&admin, Some(&admin_csrf)),
            Some(org),
        )
        .await;
    assert_eq!(st, 200, "{v}");

    // The machine-client path still works: token and X-Yuqing-User.
    let mut ids = Vec::new();
    for unit in ["town-edu", "town-roads"] {
        let (st, v, _) = c
            .send(
                Method::POST,
                "/cases",
                As::Machine("analyst"),
                Some(json!({
                    "unit": unit,
                    "source": {"type": "manual", "channel": "hotline"},
                    "title": format!("{unit} 热线反映")
                })),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        ids.push(v["id"].as_str().expect("id").to_string());
    }

    // An operator sets the liaisons' passwords (CLI, beside the running server).
    let out = cli(
        &data,
        &["user", "passwd", "edu-liaison"],
        "edu-temporary-1\n",
    );
    assert!(out.contains("edu-liaison"), "{out}");
    cli(
        &data,
        &["user", "passwd", "roads-liaison"],
        "roads-temporary-1\n",
    );
    let (edu, edu_csrf, v) = c.login("edu-liaison", "edu-temporary-1").await;
    assert_eq!(v["must_change"], true);
    let (st, v, _) = c
        .send(
            Method::POST,
            "/password",
            As::Cookie(&edu, Some(&edu_csrf)),
            Some(json!({"old": "edu-temporary-1", "new": "edu-liaison-pw-2026"})),
        )
        .await;
    assert_eq!(st, 200, "{v}");

    // A liaison's session sees only their unit's cases.
    let (st, v, _) = c
        .send(Method::GET, "/cases", As::Cookie(&edu, None), None)
        .await;
    assert_eq!(st, 200, "{v}");
    let seen: Vec<&str> = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(seen, [ids[0].as_str()], "{v}");
    let (st, _, _) = c
        .send(
            Method::GET,
            &format!("/cases/{}", ids[1]),
            As::Cookie(&edu, None),
            None,
        )
        .await;
    assert_eq!(st, 403);
    // X-Yuqing-User does not change who a session is.
    let r =
        c.c.get(format!("{}/api/v1/cases", c.base))
            .header("Cookie", format!("yuqing_session={edu}"))
            .header("X-Yuqing-User", "admin")
            .send()
            .await
            .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(1));

    // A personal API token: created by the session (shown once), works without CSRF,
    // stops after revocation.
    let (st, v, _) = c
        .send(
            Method::POST,
            "/tokens",
            As::Cookie(&edu, Some(&edu_csrf)),
            Some(json!({"name": "脚本"})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let token = v["token"].as_str().expect("token").to_string();
    let token_id = v["id"].as_i64().expect("id");
    assert!(token.starts_with("yq_"));
    let (st, v, _) = c.send(Method::GET, "/me", As::Bearer(&token), None).await;
    assert_eq!(
        (st, v["user"].as_str(), v["via"].as_str()),
        (200, Some("edu-liaison"), Some("api_token"))
    );
    let (st, v, _) = c
        .send(Method::GET, "/cases", As::Bearer(&token), None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["cases"].as_array().map(Vec::len), Some(1));
    let (_, v, _) = c
        .send(Method::GET, "/tokens", As::Cookie(&edu, None), None)
        .await;
    assert_eq!(v["tokens"][0]["name"], "脚本", "{v}");
    assert!(v["tokens"][0].get("token").is_none() && v["tokens"][0].get("token_hash").is_none());
    let (st, _, _) = c
        .send(
            Method::DELETE,
            &format!("/tokens/{token_id}"),
            As::Cookie(&edu, None),
            None,
        )
        .await;
    assert_eq!(st, 403, "no CSRF");
    let (st, v, _) = c
        .send(
            Method::DELETE,
            &format!("/tokens/{token_id}"),
            As::Cookie(&edu, Some(&edu_csrf)),
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, _, _) = c
        .send(Method::GET, "/cases", As::Bearer(&token), None)
        .await;
    assert_eq!(st, 401);

    // Tokens from the CLI: printed once, listed, revoked.
    let t = cli(&data, &["user", "token", "analyst", "--name", "采集"], "");
    let t = t.trim().to_string();
    assert!(t.starts_with("yq_"), "{t}");
    let (st, v, _) = c.send(Method::GET, "/me", As::Bearer(&t), None).await;
    assert_eq!((st, v["user"].as_str()), (200, Some("analyst")));
    let list = cli(&data, &["user", "tokens", "analyst", "--json"], "");
    let row: Value = serde_json::from_str(list.lines().next().expect("line")).expect("json");
    assert_eq!(row["name"], "采集");
    let id = row["id"].as_i64().expect("id").to_string();
    cli(&data, &["user", "revoke", &id], "");
    let (st, _, _) = c.send(Method::GET, "/me", As::Bearer(&t), None).await;
    assert_eq!(st, 401);

    // Five wrong passwords lock the account, with the time it ends.
    for i in 1..=4 {
        let (st, _, _) = c
            .send(
                Method::POST,
                "/login",
                As::Nobody,
                Some(json!({"user": "roads-liaison", "password": "wrong"})),
            )
            .await;
        assert_eq!(st, 401, "attempt {i}");
    }
    let (st, v, _) = c
        .send(
            Method::POST,
            "/login",
            As::Nobody,
            Some(json!({"user": "roads-liaison", "password": "wrong"})),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(
        v["message"].as_str().unwrap_or("").contains("锁定至"),
        "{v}"
    );
    assert!(
        v["message_en"]
            .as_str()
            .unwrap_or("")
            .contains("locked until"),
        "{v}"
    );
    let (st, _, _) = c
        .send(
            Method::POST,
            "/login",
            As::Nobody,
            Some(json!({"user": "roads-liaison", "password": "roads-temporary-1"})),
        )
        .await;
    assert_eq!(st, 403, "the right password is refused while locked");

    // Logout ends the session and clears the cookie.
    let (st, v, h) = c
        .send(
            Method::POST,
            "/logout",
            As::Cookie(&edu, Some(&edu_csrf)),
            None,
        )
        .await;
    assert_eq!((st, &v["logged_out"]), (200, &json!(true)));
    assert!(h["set-cookie"].to_str().expect("c").contains("Max-Age=0"));
    let (st, _, _) = c
        .send(Method::GET, "/me", As::Cookie(&edu, None), None)
        .await;
    assert_eq!(st, 401);
    let (st, _, _) = c.send(Method::GET, "/cases", As::Nobody, None).await;
    assert_eq!(st, 401);

    // A second start prints no password.
    drop(srv);
    let _srv = common::serve(tmp.path(), config);
    assert_eq!(one_time_password(tmp.path()), None);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_resets_a_password_over_http() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let srv = common::serve(tmp.path(), "[server]\npush_tokens = [\"t0ken\"]\n");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = Client {
        c: reqwest::Client::new(),
        base: srv.base.clone(),
    };
    // The administrator's first login and the organisation.
    let otp = one_time_password(tmp.path()).expect("one-time password printed");
    let (admin, admin_csrf, _) = c.login("admin", &otp).await;
    let (st, v, _) = c
        .send(
            Method::POST,
            "/password",
            As::Cookie(&admin, Some(&admin_csrf)),
            Some(json!({"old": otp, "new": "admin-password-2026"})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let parsed: Value = toml::from_str(ORG).expect("toml");
    let (st, v, _) = c
        .send(
            Method::PUT,
            "/org",
            As::Cookie(&admin, Some(&admin_csrf)),
            Some(json!({"units": parsed["units"], "users": parsed["users"]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    // The analyst has a password and a session.
    cli(
        &data,
        &["user", "passwd", "analyst"],
        "analyst-temporary-1\n",
    );
    let (an, an_csrf, _) = c.login("analyst", "analyst-temporary-1").await;
    let (st, v, _) = c
        .send(
            Method::POST,
            "/password",
            As::Cookie(&an, Some(&an_csrf)),
            Some(json!({"old": "analyst-temporary-1", "new": "analyst-password-2026"})),
        )
        .await;
    assert_eq!(st, 200, "{v}");

    let path = "/users/analyst/password-reset";
    // Nobody, a bad token, the machine token, a non-administrator, no CSRF: refused.
    let (st, _, _) = c.send(Method::POST, path, As::Nobody, None).await;
    assert_eq!(st, 401);
    let (st, _, _) = c.send(Method::POST, path, As::Bearer("yq_bad"), None).await;
    assert_eq!(st, 401);
    let (st, v, _) = c.send(Method::POST, path, As::Machine("admin"), None).await;
    assert_eq!(st, 403, "a machine token has no person to audit: {v}");
    let (st, v, _) = c
        .send(
            Method::POST,
            "/users/edu-liaison/password-reset",
            As::Cookie(&an, Some(&an_csrf)),
            None,
        )
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("不是系统管理员")
            && v["message_en"]
                .as_str()
                .unwrap_or("")
                .contains("not an administrator"),
        "{v}"
    );
    let (st, _, _) = c
        .send(Method::POST, path, As::Cookie(&admin, None), None)
        .await;
    assert_eq!(st, 403, "no CSRF token");
    let (st, v, _) = c
        .send(
            Method::POST,
            "/users/nobody/password-reset",
            As::Cookie(&admin, Some(&admin_csrf)),
            None,
        )
        .await;
    assert_eq!(st, 404, "{v}");

    // The reset: a one-time password, shown once and not cached.
    let (st, v, h) = c
        .send(
            Method::POST,
            path,
            As::Cookie(&admin, Some(&admin_csrf)),
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(v["user"], "analyst");
    assert_eq!(v["must_change"], true);
    let one_time = v["password"].as_str().expect("password").to_string();
    assert_eq!(one_time.chars().count(), 16, "{one_time}");
    // The analyst's sessions ended; the old password no longer works.
    let (st, _, _) = c
        .send(Method::GET, "/me", As::Cookie(&an, None), None)
        .await;
    assert_eq!(st, 401, "the analyst's session ended");
    let (st, _, _) = c
        .send(
            Method::POST,
            "/login",
            As::Nobody,
            Some(json!({"user": "analyst", "password": "analyst-password-2026"})),
        )
        .await;
    assert!(st == 401 || st == 403, "old password refused: {st}");
    // The one-time password logs in, but must be changed first.
    let (an, an_csrf, me) = c.login("analyst", &one_time).await;
    assert_eq!(me["must_change"], true, "{me}");
    let (st, _, _) = c
        .send(Method::GET, "/cases", As::Cookie(&an, None), None)
        .await;
    assert_eq!(st, 403, "nothing before the change");
    let (st, v, _) = c
        .send(
            Method::POST,
            "/password",
            As::Cookie(&an, Some(&an_csrf)),
            Some(json!({"old": one_time, "new": "analyst-password-2027"})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, _, _) = c
        .send(Method::GET, "/cases", As::Cookie(&an, None), None)
        .await;
    assert_eq!(st, 200);

    // Audited, by whom and for whom, without the password.
    let (st, v, _) = c
        .send(
            Method::GET,
            "/audit?limit=500",
            As::Cookie(&admin, None),
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let entries = v["entries"].as_array().expect("entries");
    let reset = entries
        .iter()
        .find(|e| e["action"] == "access.password_reset")
        .unwrap_or_else(|| panic!("no reset entry: {v}"));
    assert_eq!(reset["actor"], "admin");
    assert_eq!(reset["target"], "user:analyst");
    assert!(!v.to_string().contains(&one_time), "no secret in the log");
    drop(srv);
}
