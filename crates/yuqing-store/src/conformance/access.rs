//! Conformance of [`AccessStore`] implementations: credentials round-trip, a changed
//! credential ends the other sessions, a session start clears the lockout, tokens are
//! found by hash and revoked once, and every change is in the audit chain.

use crate::access::*;
use crate::handling::HandlingStore;
use chrono::{Duration, TimeZone, Utc};
use std::future::Future;
use yuqing_workflow::audit::{NewEntry, verify};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0)
        .single()
        .expect("time")
}

fn entry(action: &str, target: &str) -> NewEntry {
    NewEntry {
        at: t0(),
        actor: "admin".into(),
        action: action.into(),
        target: target.into(),
        before: None,
        after: None,
    }
}

fn cred(user: &str, phc: &str) -> Credential {
    Credential {
        user: user.into(),
        phc: phc.into(),
        must_change: true,
        failed: 0,
        locked_until: None,
        updated_at: t0(),
    }
}

fn session(hash: &str, user: &str) -> SessionRow {
    SessionRow {
        token_hash: hash.into(),
        user: user.into(),
        csrf: format!("csrf-{hash}"),
        created_at: t0(),
        last_seen: t0(),
        expires_at: t0() + Duration::days(7),
    }
}

/// Runs every access case, each on a fresh store from `make`.
pub async fn run_all<S, F, Fut>(make: F)
where
    S: AccessStore + HandlingStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    credentials_round_trip(make().await).await;
    sessions_live_and_end(make().await).await;
    tokens_by_hash_and_revoked_once(make().await).await;
}

pub async fn credentials_round_trip<S: AccessStore + HandlingStore>(s: S) {
    assert_eq!(s.credential("ana").await.expect("get"), None);
    let c = cred("ana", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
    s.put_credential(&c, None, vec![entry("access.password_set", "user:ana")])
        .await
        .expect("put");
    assert_eq!(s.credential("ana").await.expect("get"), Some(c.clone()));
    assert_eq!(s.credential_users().await.expect("users"), vec!["ana"]);
    let until = t0() + Duration::minutes(15);
    s.record_failure(
        "ana",
        5,
        Some(until),
        vec![entry("access.locked", "user:ana")],
    )
    .await
    .expect("fail");
    let got = s.credential("ana").await.expect("get").expect("some");
    assert_eq!((got.failed, got.locked_until), (5, Some(until)));
    // A session start clears the lockout.
    s.start_session(
        &session("h1", "ana"),
        vec![entry("access.login", "user:ana")],
    )
    .await
    .expect("start");
    let got = s.credential("ana").await.expect("get").expect("some");
    assert_eq!((got.failed, got.locked_until), (0, None));
    // The debug form never shows the hash.
    assert!(!format!("{got:?}").contains("argon2id"));
    let log = s.audit(0, 0).await.expect("audit");
    assert_eq!(log.len(), 3, "credentials_round_trip: every change audited");
    verify(&log).expect("chain");
}

pub async fn sessions_live_and_end<S: AccessStore + HandlingStore>(s: S) {
    s.put_credential(&cred("ana", "x"), None, vec![])
        .await
        .expect("put");
    for h in ["h1", "h2", "h3"] {
        s.start_session(&session(h, "ana"), vec![])
            .await
            .expect("start");
    }
    s.start_session(&session("other", "bo"), vec![])
        .await
        .expect("start");
    let got = s.session("h1").await.expect("get").expect("some");
    assert_eq!(got, session("h1", "ana"));
    s.touch_session("h1", t0() + Duration::hours(1))
        .await
        .expect("touch");
    // Never moves back.
    s.touch_session("h1", t0()).await.expect("touch");
    let got = s.session("h1").await.expect("get").expect("some");
    assert_eq!(got.last_seen, t0() + Duration::hours(1));
    // A new password ends the other sessions of the user, not the kept one nor others'.
    s.put_credential(&cred("ana", "y"), Some("h1"), vec![])
        .await
        .expect("put");
    assert!(s.session("h1").await.expect("get").is_some());
    assert!(s.session("h2").await.expect("get").is_none());
    assert!(s.session("other").await.expect("get").is_some());
    assert!(
        s.end_session("h1", vec![entry("access.logout", "user:ana")])
            .await
            .expect("end")
    );
    assert!(!s.end_session("h1", vec![]).await.expect("end again"));
    // Housekeeping: idle and expired sessions go.
    s.start_session(&session("h4", "ana"), vec![])
        .await
        .expect("start");
    let n = s
        .purge_sessions(t0() + Duration::minutes(1), t0())
        .await
        .expect("purge");
    assert_eq!(n, 2, "sessions_live_and_end: h4 and other were idle");
    assert_eq!(s.audit(0, 0).await.expect("audit").len(), 1);
}

pub async fn tokens_by_hash_and_revoked_once<S: AccessStore + HandlingStore>(s: S) {
    let t = s
        .create_token(
            &NewApiToken {
                token_hash: "abc".into(),
                user: "ana".into(),
                name: "采集脚本".into(),
                created_at: t0(),
            },
            vec![entry("access.token_create", "token:")],
        )
        .await
        .expect("create");
    assert_eq!((t.user.as_str(), t.name.as_str()), ("ana", "采集脚本"));
    let t2 = s
        .create_token(
            &NewApiToken {
                token_hash: "def".into(),
                user: "bo".into(),
                name: "b".into(),
                created_at: t0(),
            },
            vec![],
        )
        .await
        .expect("create");
    assert_eq!(s.token_by_hash("abc").await.expect("get"), Some(t.clone()));
    assert_eq!(s.api_token(t2.id).await.expect("get"), Some(t2.clone()));
    assert_eq!(
        s.api_tokens(Some("ana")).await.expect("list"),
        vec![t.clone()]
    );
    assert_eq!(s.api_tokens(None).await.expect("list").len(), 2);
    s.touch_token(t.id, t0() + Duration::hours(1))
        .await
        .expect("touch");
    assert_eq!(
        s.api_token(t.id)
            .await
            .expect("get")
            .expect("some")
            .last_used,
        Some(t0() + Duration::hours(1))
    );
    let at = t0() + Duration::hours(2);
    assert!(
        s.revoke_token(t.id, at, vec![entry("access.token_revoke", "token:1")])
            .await
            .expect("revoke")
    );
    assert!(!s.revoke_token(t.id, at, vec![]).await.expect("again"));
    assert!(!s.revoke_token(999, at, vec![]).await.expect("none"));
    let got = s.token_by_hash("abc").await.expect("get").expect("some");
    assert_eq!(got.revoked_at, Some(at));
    let log = s.audit(0, 0).await.expect("audit");
    assert_eq!(
        log.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
        vec![format!("token:{}", t.id).as_str(), "token:1"],
        "tokens: the new id is in the entry's target"
    );
    // The token's hash is not part of what is shown.
    let v = serde_json::to_value(&got).expect("json");
    assert!(v.get("token_hash").is_none());
}
