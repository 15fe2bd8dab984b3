//! The access service on an in-memory SQLite store with a `FixedClock`: the first
//! administrator once, logins, lockout and its end, the per-address limit, session idle
//! and absolute expiry, password rules, API tokens and their revocation, and the audit
//! trail (which never holds a secret).

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use yuqing_core::{Code, FixedClock};
use yuqing_handling::access::{Access, AccessSettings, csrf_for};
use yuqing_handling::cases::{Cases, Principal};
use yuqing_store::handling::HandlingStore;
use yuqing_store::{AccessStore, SqliteStore};
use yuqing_workflow::DeadlineRules;
use yuqing_workflow::audit::verify;

const ORG: &str = r#"
[[units]]
id = "county"
name = "某县"
kind = "organisation"

[[units]]
id = "edu"
name = "教育局"
kind = "department"
parent = "county"

[[users]]
id = "boss"
name = "管理员"
grants = [{ unit = "county", role = "admin" }]

[[users]]
id = "li"
name = "信息员"
grants = [{ unit = "edu", role = "liaison" }]
"#;

struct World {
    store: Arc<SqliteStore>,
    clock: Arc<FixedClock>,
    access: Access<SqliteStore>,
}

async fn world(with_org: bool) -> World {
    let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0)
            .single()
            .expect("t0"),
    ));
    if with_org {
        Cases::new(store.clone(), clock.clone(), DeadlineRules::default())
            .import_org(ORG, &Principal::Operator)
            .await
            .expect("org");
    }
    let access = Access::new(store.clone(), clock.clone(), AccessSettings::default());
    World {
        store,
        clock,
        access,
    }
}

async fn with_password(w: &World, user: &str, pw: &str) {
    // Set by the operator, then changed by the user: no longer must_change.
    w.access
        .set_password(&Principal::Operator, user, "temporary-1234")
        .await
        .expect("set");
    w.access
        .change_password(user, "temporary-1234", pw, None)
        .await
        .expect("change");
}

#[tokio::test]
async fn bootstrap_creates_one_admin_once_on_an_empty_org() {
    let w = world(false).await;
    let b = w.access.bootstrap().await.expect("bootstrap").expect("new");
    assert_eq!(b.user, "admin");
    assert_eq!(b.password.chars().count(), 16);
    assert!(!format!("{b:?}").contains(&b.password), "debug hides it");
    let (units, users) = w.store.org().await.expect("org");
    assert_eq!(units[0].id, "root");
    assert_eq!(units[0].name, "本单位");
    assert_eq!(users[0].id, "admin");
    // Never again.
    assert!(w.access.bootstrap().await.expect("again").is_none());
    // The one-time password logs in and must be changed.
    let s = w
        .access
        .login("admin", &b.password, "127.0.0.1")
        .await
        .expect("login");
    assert!(s.must_change);
    assert_eq!(s.csrf, csrf_for(&s.token));
    // The stored credential is an argon2id PHC string, not the password.
    let c = w.store.credential("admin").await.expect("c").expect("some");
    assert!(
        c.phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        c.phc
    );
    // Nothing secret in the audit log, which verifies.
    let log = w.store.audit(0, 0).await.expect("audit");
    verify(&log).expect("chain");
    let text = serde_json::to_string(&log).expect("json");
    assert!(!text.contains(&b.password));
    assert!(!text.contains(&s.token) && !text.contains(&c.phc));
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["org.update", "access.password_set", "access.login"]
    );
}

#[tokio::test]
async fn bootstrap_uses_the_first_root_unit_and_an_existing_admin() {
    let w = world(true).await;
    // `boss` is an administrator without a password: `admin` is created on `county`.
    let b = w.access.bootstrap().await.expect("bootstrap").expect("new");
    assert_eq!(b.user, "admin");
    let (units, users) = w.store.org().await.expect("org");
    assert_eq!(units.len(), 2, "no new unit");
    let admin = users.iter().find(|u| u.id == "admin").expect("admin");
    assert_eq!(admin.grants[0].unit, "county");
    // Once `boss` has a password too, still nothing to do.
    w.access
        .set_password(&Principal::Operator, "boss", "boss-password-1")
        .await
        .expect("set");
    assert!(w.access.bootstrap().await.expect("again").is_none());
}

#[tokio::test]
async fn login_ok_and_bad_and_unknown() {
    let w = world(true).await;
    with_password(&w, "li", "correct horse 1").await;
    let s = w
        .access
        .login("li", "correct horse 1", "10.0.0.1")
        .await
        .expect("ok");
    assert!(!s.must_change);
    assert_eq!(s.token.len(), 64);
    let info = w.access.session(&s.token).await.expect("s").expect("live");
    assert_eq!(info.user, "li");
    assert_eq!(info.csrf, s.csrf);
    let e = w
        .access
        .login("li", "wrong", "10.0.0.1")
        .await
        .expect_err("bad");
    assert_eq!(e.code(), Code::Unauthenticated);
    let e2 = w
        .access
        .login("nobody", "wrong", "10.0.0.1")
        .await
        .expect_err("unknown");
    // The same answer for an unknown user as for a wrong password.
    assert_eq!(e.to_string(), e2.to_string());
    // Logout ends the session.
    assert!(w.access.logout(&s.token).await.expect("logout"));
    assert!(w.access.session(&s.token).await.expect("s").is_none());
    assert!(!w.access.logout(&s.token).await.expect("again"));
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes() {
    let w = world(true).await;
    with_password(&w, "li", "correct horse 1").await;
    for i in 1..=4 {
        let e = w
            .access
            .login("li", "nope", "10.0.0.2")
            .await
            .expect_err("bad");
        assert_eq!(e.code(), Code::Unauthenticated, "attempt {i}");
    }
    let e = w
        .access
        .login("li", "nope", "10.0.0.2")
        .await
        .expect_err("locked");
    assert_eq!(e.code(), Code::Forbidden);
    let msg = e.to_string();
    // 01:15 UTC is 09:15 in Beijing.
    assert!(
        msg.contains("锁定至 2026-03-02 09:15") && msg.contains("locked until 2026-03-02 09:15"),
        "{msg}"
    );
    // Even the right password is refused while locked.
    let e = w
        .access
        .login("li", "correct horse 1", "10.0.0.2")
        .await
        .expect_err("still locked");
    assert_eq!(e.code(), Code::Forbidden);
    w.clock.advance(Duration::minutes(14));
    assert!(
        w.access
            .login("li", "correct horse 1", "10.0.0.3")
            .await
            .is_err()
    );
    // The lock ends after 15 minutes; a success clears the count.
    w.clock.advance(Duration::minutes(1));
    w.access
        .login("li", "correct horse 1", "10.0.0.3")
        .await
        .expect("unlocked");
    let c = w.store.credential("li").await.expect("c").expect("some");
    assert_eq!((c.failed, c.locked_until), (0, None));
    let log = w.store.audit(0, 0).await.expect("audit");
    assert_eq!(
        log.iter().filter(|e| e.action == "access.locked").count(),
        1
    );
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "access.login_failed")
            .count(),
        5
    );
}

#[tokio::test]
async fn one_address_failing_too_often_is_refused_for_the_window() {
    let w = world(true).await;
    with_password(&w, "li", "correct horse 1").await;
    for _ in 0..20 {
        let _ = w.access.login("ghost", "x", "10.9.9.9").await;
    }
    let e = w
        .access
        .login("li", "correct horse 1", "10.9.9.9")
        .await
        .expect_err("limited");
    assert_eq!(e.code(), Code::Forbidden);
    assert!(e.to_string().contains("this address"), "{e}");
    // Another address is not affected; the window ends.
    w.access
        .login("li", "correct horse 1", "10.9.9.8")
        .await
        .expect("other address");
    w.clock.advance(Duration::minutes(15));
    w.access
        .login("li", "correct horse 1", "10.9.9.9")
        .await
        .expect("after the window");
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old() {
    let w = world(true).await;
    with_password(&w, "li", "correct horse 1").await;
    // Idle: 12 hours without a request.
    let s = w
        .access
        .login("li", "correct horse 1", "ip")
        .await
        .expect("login");
    w.clock.advance(Duration::hours(11));
    assert!(w.access.session(&s.token).await.expect("s").is_some());
    w.clock.advance(Duration::hours(11)); // 11 h after the last use
    assert!(w.access.session(&s.token).await.expect("s").is_some());
    w.clock.advance(Duration::hours(12));
    assert!(w.access.session(&s.token).await.expect("s").is_none());
    // Absolute: 7 days even when used every few hours.
    let s = w
        .access
        .login("li", "correct horse 1", "ip")
        .await
        .expect("login");
    for _ in 0..(7 * 24 / 6 - 1) {
        w.clock.advance(Duration::hours(6));
        assert!(w.access.session(&s.token).await.expect("s").is_some());
    }
    w.clock.advance(Duration::hours(6));
    assert!(w.access.session(&s.token).await.expect("s").is_none());
    assert!(w.access.session("not-a-token").await.expect("s").is_none());
}

#[tokio::test]
async fn password_rules_and_who_may_set_them() {
    let w = world(true).await;
    w.access
        .set_password(&Principal::Operator, "li", "temporary-1234")
        .await
        .expect("set");
    let s = w
        .access
        .login("li", "temporary-1234", "ip")
        .await
        .expect("login");
    assert!(s.must_change, "set by someone else: must change");
    let other = w
        .access
        .login("li", "temporary-1234", "ip")
        .await
        .expect("second session");
    let change = |old: &'static str, new: &'static str| {
        w.access.change_password("li", old, new, Some(&s.token))
    };
    let e = change("wrong-old-password", "a-new-password")
        .await
        .expect_err("old");
    assert_eq!(e.code(), Code::Forbidden);
    let e = change("temporary-1234", "short").await.expect_err("short");
    assert!(e.to_string().contains("at least 10"), "{e}");
    let e = w
        .access
        .set_password(&Principal::Operator, "li", "LI")
        .await
        .expect_err("short too");
    assert_eq!(e.code(), Code::InvalidInput);
    // Not the user id (a long id to pass the length rule).
    w.store
        .put_org(
            &[],
            &[yuqing_workflow::org::User {
                id: "liaison-0001".into(),
                name: "x".into(),
                grants: vec![],
                mobile: None,
                email: None,
                feishu: None,
            }],
            vec![],
        )
        .await
        .expect("user");
    let e = w
        .access
        .set_password(&Principal::Operator, "liaison-0001", "LIAISON-0001")
        .await
        .expect_err("user id");
    assert!(e.to_string().contains("user id"), "{e}");
    let e = change("temporary-1234", "temporary-1234")
        .await
        .expect_err("same");
    assert_eq!(e.code(), Code::InvalidInput);
    change("temporary-1234", "a-new-password")
        .await
        .expect("change");
    // must_change cleared; this session kept, the other one ended.
    let info = w.access.session(&s.token).await.expect("s").expect("kept");
    assert!(!info.must_change);
    assert!(w.access.session(&other.token).await.expect("s").is_none());
    // Only an administrator sets another's password.
    let e = w
        .access
        .set_password(&Principal::user("li"), "boss", "another-password")
        .await
        .expect_err("not admin");
    assert_eq!(e.code(), Code::Forbidden);
    w.access
        .set_password(&Principal::user("boss"), "li", "reset-by-boss-1")
        .await
        .expect("admin resets");
    assert!(
        w.access.session(&s.token).await.expect("s").is_none(),
        "a reset ends every session"
    );
    let s = w
        .access
        .login("li", "reset-by-boss-1", "ip")
        .await
        .expect("login");
    assert!(s.must_change);
    let e = w
        .access
        .set_password(&Principal::Operator, "ghost", "whatever-password")
        .await
        .expect_err("unknown user");
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test]
async fn api_tokens_work_until_revoked() {
    let w = world(true).await;
    let t = w
        .access
        .create_token(&Principal::user("li"), "li", "采集脚本")
        .await
        .expect("create");
    assert!(t.token.starts_with("yq_") && t.token.len() == 67);
    let row = w
        .access
        .token_user(&t.token)
        .await
        .expect("u")
        .expect("live");
    assert_eq!((row.user.as_str(), row.id), ("li", t.row.id));
    assert_eq!(
        w.store
            .api_token(t.row.id)
            .await
            .expect("get")
            .expect("some")
            .last_used,
        Some(w.access.now())
    );
    assert!(w.access.token_user("yq_nope").await.expect("u").is_none());
    assert!(w.access.token_user("no-prefix").await.expect("u").is_none());
    // Someone else may not revoke it or make tokens for li; an administrator may.
    let e = w
        .access
        .create_token(&Principal::user("li"), "boss", "x")
        .await
        .expect_err("others");
    assert_eq!(e.code(), Code::Forbidden);
    let e = w
        .access
        .create_token(&Principal::user("li"), "li", " ")
        .await
        .expect_err("name");
    assert_eq!(e.code(), Code::InvalidInput);
    let t2 = w
        .access
        .create_token(&Principal::user("boss"), "boss", "boss")
        .await
        .expect("boss");
    let e = w
        .access
        .revoke_token(&Principal::user("li"), t2.row.id)
        .await
        .expect_err("not theirs");
    assert_eq!(e.code(), Code::Forbidden);
    let r = w
        .access
        .revoke_token(&Principal::user("boss"), t.row.id)
        .await
        .expect("revoke");
    assert!(r.revoked_at.is_some());
    assert!(w.access.token_user(&t.token).await.expect("u").is_none());
    assert_eq!(w.access.tokens(Some("li")).await.expect("list").len(), 1);
    assert_eq!(w.access.tokens(None).await.expect("list").len(), 2);
    let e = w
        .access
        .revoke_token(&Principal::Operator, 999)
        .await
        .expect_err("none");
    assert_eq!(e.code(), Code::NotFound);
    // The audit names the tokens by id; the tokens themselves are nowhere.
    let log = w.store.audit(0, 0).await.expect("audit");
    let text = serde_json::to_string(&log).expect("json");
    assert!(!text.contains(&t.token) && !text.contains(&t2.token));
    assert!(
        log.iter()
            .any(|e| e.action == "access.token_revoke" && e.target == format!("token:{}", t.row.id))
    );
}
