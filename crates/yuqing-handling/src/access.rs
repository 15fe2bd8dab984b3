//! Access (登录与令牌): passwords, browser sessions and personal API tokens over an
//! `AccessStore` (docs/security.md, "Access").
//!
//! - [`Access::bootstrap`]: on first start, an administrator `admin` with a one-time
//!   password that must be changed at the first login;
//! - [`Access::login`] / [`Access::logout`] / [`Access::session`]: sessions with an idle
//!   and an absolute expiry; failed logins are counted per account (lockout) and per
//!   client address (rate limit);
//! - [`Access::change_password`] (by the user, with the old password),
//!   [`Access::set_password`] (by an administrator or the local operator) and
//!   [`Access::reset_password`] (an administrator gets a one-time password to hand over);
//! - [`Access::create_token`] / [`Access::revoke_token`] / [`Access::token_user`]: personal
//!   API tokens for machine clients, shown once.
//!
//! Passwords are hashed with argon2id (the crate's defaults: m = 19 MiB, t = 2, p = 1, a
//! random 16-byte salt) on a blocking thread. Session and API tokens are 32 random bytes
//! from the operating system; the store keeps only their SHA-256. The CSRF token of a
//! session is derived from its token (SHA-256 with a label), so it can be checked without
//! the store. Every change is audited (`access.*` actions); no entry holds a secret.
//! Time comes from the injected [`Clock`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use yuqing_core::{Clock, Code};
use yuqing_judge::grading::beijing;
use yuqing_store::HandlingStore;
use yuqing_store::access::{ApiTokenRow, Credential, NewApiToken, SessionRow};
use yuqing_workflow::audit::NewEntry;
use yuqing_workflow::org::{Grant, Org, Role, Unit, UnitKind, User};

use crate::cases::Principal;
use crate::error::{HandlingError, Result};

/// Prefix of personal API tokens (tells them apart from `[server] push_tokens`).
pub const TOKEN_PREFIX: &str = "yq_";

/// The rules of logins and sessions.
#[derive(Debug, Clone)]
pub struct AccessSettings {
    /// Failed logins in a row that lock an account.
    pub max_failures: i64,
    /// How long a locked account stays locked.
    pub lockout: Duration,
    /// Failed logins from one client address within `ip_window` before that address is
    /// refused for the rest of the window.
    pub ip_max_failures: u32,
    pub ip_window: Duration,
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after the login, used or not.
    pub absolute: Duration,
    /// Shortest password, in characters.
    pub min_password_chars: usize,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lockout: Duration::minutes(15),
            ip_max_failures: 20,
            ip_window: Duration::minutes(15),
            idle: Duration::hours(12),
            absolute: Duration::days(7),
            min_password_chars: 10,
        }
    }
}

/// The administrator created on first start, with the one-time password to print once.
#[derive(Clone, PartialEq, Eq)]
pub struct Bootstrapped {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Bootstrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrapped")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A session just started: the token goes into the cookie, the CSRF token to the page.
#[derive(Clone)]
pub struct Session {
    pub token: String,
    pub csrf: String,
    pub user: String,
    pub must_change: bool,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("must_change", &self.must_change)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A live session found by its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub user: String,
    pub csrf: String,
    pub must_change: bool,
    pub expires_at: DateTime<Utc>,
}

/// An API token just created: `token` is shown once and never again.
#[derive(Clone, Serialize)]
pub struct NewToken {
    pub token: String,
    #[serde(flatten)]
    pub row: ApiTokenRow,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

/// Hex SHA-256: what the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a session: derived from the session token, so a page can be given
/// it again (`/api/v1/me`) and a request checked without the store.
pub fn csrf_for(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"yuqing-csrf\0");
    h.update(session_token.as_bytes());
    hex::encode(h.finalize())
}

/// Compares two strings in time independent of where they differ.
pub fn constant_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| {
        HandlingError::refused(
            Code::Internal,
            format!("无法取得随机数：{e}"),
            format!("no randomness from the operating system: {e}"),
        )
    })?;
    Ok(b)
}

/// A new random token (64 hex characters, 256 bits).
fn new_token() -> Result<String> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// A one-time password: 16 characters without look-alikes (about 92 bits).
fn one_time_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let n = ALPHABET.len();
    let limit = 256 - 256 % n; // rejection sampling: no bias
    let mut out = String::with_capacity(16);
    while out.len() < 16 {
        for b in random_bytes::<32>()? {
            if (b as usize) < limit && out.len() < 16 {
                out.push(ALPHABET[b as usize % n] as char);
            }
        }
    }
    Ok(out)
}

fn internal(e: impl std::fmt::Display) -> HandlingError {
    HandlingError::refused(
        Code::Internal,
        format!("密码处理失败：{e}"),
        format!("password hashing failed: {e}"),
    )
}

async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(internal)
    })
    .await
    .map_err(internal)?
}

async fn verify_password(password: String, phc: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok()
    })
    .await
    .map_err(internal)
}

/// A hash to verify against when the account does not exist, so that an unknown user
/// costs as much time as a wrong password.
async fn dummy_hash() -> Result<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let h = hash_password(new_token()?).await?;
    Ok(DUMMY.get_or_init(|| h).clone())
}

fn is_admin(u: &User) -> bool {
    u.grants.iter().any(|g| g.role == Role::Admin)
}

fn bj(t: DateTime<Utc>) -> String {
    t.with_timezone(&beijing())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Audit targets name users by id; an id typed at the login form is cut short.
fn user_target(user: &str) -> String {
    let cut: String = user.chars().take(64).collect();
    format!("user:{cut}")
}

fn bad_login() -> HandlingError {
    HandlingError::refused(
        Code::Unauthenticated,
        "用户名或密码不正确",
        "wrong user name or password",
    )
}

fn locked(until: DateTime<Utc>) -> HandlingError {
    HandlingError::forbidden(
        format!(
            "密码错误次数过多，账号已锁定至 {}（北京时间）；请届时再试，或请系统管理员重置密码",
            bj(until)
        ),
        format!(
            "too many wrong passwords: the account is locked until {} (Beijing time); try again then, or ask an administrator to reset the password",
            bj(until)
        ),
    )
}

/// The access service.
pub struct Access<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    settings: AccessSettings,
    /// Failed logins per client address: (count, start of the window).
    by_ip: Mutex<HashMap<String, (u32, DateTime<Utc>)>>,
}

impl<S: HandlingStore> Access<S> {
    pub fn new(store: Arc<S>, clock: Arc<dyn Clock>, settings: AccessSettings) -> Self {
        Self {
            store,
            clock,
            settings,
            by_ip: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &AccessSettings {
        &self.settings
    }

    /// The injected clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn org(&self) -> Result<Org> {
        let (units, users) = self.store.org().await?;
        Ok(Org::new(units, users)?)
    }

    /// Whether `user` holds the administrator role anywhere.
    pub async fn is_admin(&self, user: &str) -> Result<bool> {
        Ok(self.org().await?.user(user).is_some_and(is_admin))
    }

    /// On first start: when no administrator has a password, makes one. The account is
    /// `admin` (created, with the administrator role on the first root unit, or on a new
    /// root unit `root` "本单位" when the organisation is empty), its password random and to
    /// be changed at the first login. Returns it to be shown once; `None` when an
    /// administrator can already log in.
    pub async fn bootstrap(&self) -> Result<Option<Bootstrapped>> {
        let (units, users) = self.store.org().await?;
        let with_password = self.store.credential_users().await?;
        if users
            .iter()
            .any(|u| is_admin(u) && with_password.contains(&u.id))
        {
            return Ok(None);
        }
        let now = self.now();
        // `admin`, unless that id belongs to someone who is not an administrator.
        let id = (1..)
            .map(|i| {
                if i == 1 {
                    "admin".to_string()
                } else {
                    format!("admin{i}")
                }
            })
            .find(|id| users.iter().find(|u| &u.id == id).is_none_or(is_admin))
            .unwrap_or_else(|| "admin".into());
        if !users.iter().any(|u| u.id == id) {
            let mut new_units = Vec::new();
            let root = match units.iter().find(|u| u.parent.is_none()) {
                Some(u) => u.id.clone(),
                None => {
                    new_units.push(Unit {
                        id: "root".into(),
                        name: "本单位".into(),
                        kind: UnitKind::Organisation,
                        parent: None,
                    });
                    "root".into()
                }
            };
            let user = User {
                id: id.clone(),
                name: "系统管理员".into(),
                grants: vec![Grant {
                    unit: root,
                    role: Role::Admin,
                }],
                mobile: None,
                email: None,
                feishu: None,
            };
            let mut all_units = units.clone();
            all_units.extend(new_units.iter().cloned());
            let mut all_users = users.clone();
            all_users.push(user.clone());
            Org::new(all_units, all_users)?;
            let entry = NewEntry {
                at: now,
                actor: "system".into(),
                action: "org.update".into(),
                target: "org".into(),
                before: Some(json!({"units": [], "users": []})),
                after: Some(json!({"units": new_units, "users": [user]})),
            };
            self.store.put_org(&new_units, &[user], vec![entry]).await?;
        }
        let password = one_time_password()?;
        let cred = Credential {
            user: id.clone(),
            phc: hash_password(password.clone()).await?,
            must_change: true,
            failed: 0,
            locked_until: None,
            updated_at: now,
        };
        let entry = NewEntry {
            at: now,
            actor: "system".into(),
            action: "access.password_set".into(),
            target: user_target(&id),
            before: None,
            after: Some(json!({"must_change": true, "first_start": true})),
        };
        self.store.put_credential(&cred, None, vec![entry]).await?;
        Ok(Some(Bootstrapped { user: id, password }))
    }

    /// Refuses an address that failed too often in the current window.
    fn check_ip(&self, ip: &str, now: DateTime<Utc>) -> Result<()> {
        let map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((n, start)) = map.get(ip)
            && *n >= self.settings.ip_max_failures
            && now < *start + self.settings.ip_window
        {
            let until = *start + self.settings.ip_window;
            return Err(HandlingError::forbidden(
                format!(
                    "此地址登录失败次数过多，请在 {}（北京时间）之后再试",
                    bj(until)
                ),
                format!(
                    "too many failed logins from this address: try again after {} (Beijing time)",
                    bj(until)
                ),
            ));
        }
        Ok(())
    }

    fn count_ip_failure(&self, ip: &str, now: DateTime<Utc>) {
        let mut map = self.by_ip.lock().unwrap_or_else(|p| p.into_inner());
        // Forget finished windows so the map stays small.
        let window = self.settings.ip_window;
        map.retain(|_, (_, start)| now < *start + window);
        let e = map.entry(ip.to_string()).or_insert((0, now));
        e.0 += 1;
    }

    /// Logs a user in. A wrong password counts against the account (locked for
    /// `lockout` after `max_failures` in a row) and the client address; a locked account
    /// is refused before its password is checked, with the time the lock ends.
    pub async fn login(&self, user: &str, password: &str, ip: &str) -> Result<Session> {
        let now = self.now();
        self.check_ip(ip, now)?;
        let user = user.trim();
        let known = self.org().await?.user(user).is_some();
        let cred = if known {
            self.store.credential(user).await?
        } else {
            None
        };
        let Some(cred) = cred else {
            // Same work as for a wrong password, so the answer's timing tells nothing.
            let _ = verify_password(password.to_string(), dummy_hash().await?).await?;
            self.count_ip_failure(ip, now);
            self.store
                .append_audit(vec![NewEntry {
                    at: now,
                    actor: "anonymous".into(),
                    action: "access.login_failed".into(),
                    target: user_target(user),
                    before: None,
                    after: Some(json!({"ip": ip, "reason": "unknown_user"})),
                }])
                .await?;
            return Err(bad_login());
        };
        if let Some(until) = cred.locked_until
            && now < until
        {
            self.count_ip_failure(ip, now);
            return Err(locked(until));
        }
        if !verify_password(password.to_string(), cred.phc.clone()).await? {
            self.count_ip_failure(ip, now);
            let failed = cred.failed + 1;
            let mut audit = vec![NewEntry {
                at: now,
                actor: "anonymous".into(),
                action: "access.login_failed".into(),
                target: user_target(user),
                before: None,
                after: Some(json!({"ip": ip, "failed": failed})),
            }];
            if failed >= self.settings.max_failures {
                let until = now + self.settings.lockout;
                audit.push(NewEntry {
                    at: now,
                    actor: "system".into(),
                    action: "access.locked".into(),
                    target: user_target(user),
                    before: None,
                    after: Some(json!({"until": until, "failed": failed})),
                });
                // The count starts again once the lock ends.
                self.store
                    .record_failure(user, 0, Some(until), audit)
                    .await?;
                return Err(locked(until));
            }
            self.store.record_failure(user, failed, None, audit).await?;
            return Err(bad_login());
        }
        // Housekeeping of sessions nobody can use any more.
        self.store
            .purge_sessions(now - self.settings.idle, now)
            .await?;
        let token = new_token()?;
        let csrf = csrf_for(&token);
        let expires_at = now + self.settings.absolute;
        let row = SessionRow {
            token_hash: token_hash(&token),
            user: user.to_string(),
            csrf: csrf.clone(),
            created_at: now,
            last_seen: now,
            expires_at,
        };
        let entry = NewEntry {
            at: now,
            actor: user.to_string(),
            action: "access.login".into(),
            target: user_target(user),
            before: None,
            after: Some(json!({"ip": ip, "expires_at": expires_at})),
        };
        self.store.start_session(&row, vec![entry]).await?;
        Ok(Session {
            token,
            csrf,
            user: user.to_string(),
            must_change: cred.must_change,
            expires_at,
        })
    }

    /// Ends the session of this token; false when there was none.
    pub async fn logout(&self, token: &str) -> Result<bool> {
        let hash = token_hash(token);
        let Some(s) = self.store.session(&hash).await? else {
            return Ok(false);
        };
        let entry = NewEntry {
            at: self.now(),
            actor: s.user.clone(),
            action: "access.logout".into(),
            target: user_target(&s.user),
            before: None,
            after: None,
        };
        Ok(self.store.end_session(&hash, vec![entry]).await?)
    }

    /// The live session of this token: `None` when there is none, it was idle longer
    /// than `idle`, or it is older than `absolute` (an expired one is deleted).
    pub async fn session(&self, token: &str) -> Result<Option<SessionInfo>> {
        let hash = token_hash(token);
        let Some(s) = self.store.session(&hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        if now >= s.expires_at || now - s.last_seen >= self.settings.idle {
            self.store.end_session(&hash, vec![]).await?;
            return Ok(None);
        }
        let Some(cred) = self.store.credential(&s.user).await? else {
            return Ok(None);
        };
        // One write a minute at most per session.
        if now - s.last_seen >= Duration::minutes(1) {
            self.store.touch_session(&hash, now).await?;
        }
        Ok(Some(SessionInfo {
            user: s.user,
            csrf: s.csrf,
            must_change: cred.must_change,
            expires_at: s.expires_at,
        }))
    }

    fn check_rules(&self, user: &str, new: &str) -> Result<()> {
        let min = self.settings.min_password_chars;
        if new.chars().count() < min {
            return Err(HandlingError::invalid(
                format!("新密码太短：至少 {min} 个字符"),
                format!("the new password is too short: at least {min} characters"),
            ));
        }
        if new.trim().eq_ignore_ascii_case(user.trim()) {
            return Err(HandlingError::invalid(
                "新密码不能与用户账号相同",
                "the new password must not be the user id",
            ));
        }
        Ok(())
    }

    /// A user changes their own password (with the current one). Clears `must_change`;
    /// ends the user's other sessions, keeping `current_session` (the one asking).
    pub async fn change_password(
        &self,
        user: &str,
        old: &str,
        new: &str,
        current_session: Option<&str>,
    ) -> Result<()> {
        let Some(cred) = self.store.credential(user).await? else {
            return Err(HandlingError::not_found(
                format!("用户 {user} 没有密码"),
                format!("user {user} has no password"),
            ));
        };
        if !verify_password(old.to_string(), cred.phc.clone()).await? {
            return Err(HandlingError::forbidden(
                "当前密码不正确",
                "the current password is wrong",
            ));
        }
        self.check_rules(user, new)?;
        if new == old {
            return Err(HandlingError::invalid(
                "新密码不能与当前密码相同",
                "the new password must differ from the current one",
            ));
        }
        let now = self.now();
        let cred = Credential {
            user: user.to_string(),
            phc: hash_password(new.to_string()).await?,
            must_change: false,
            failed: 0,
            locked_until: None,
            updated_at: now,
        };
        let entry = NewEntry {
            at: now,
            actor: user.to_string(),
            action: "access.password_change".into(),
            target: user_target(user),
            before: None,
            after: Some(json!({"must_change": false})),
        };
        let keep = current_session.map(token_hash);
        self.store
            .put_credential(&cred, keep.as_deref(), vec![entry])
            .await?;
        Ok(())
    }

    /// An administrator (or the local operator) sets a user's password. Unless the user
    /// sets their own, it must be changed at the next login. Clears a lockout and ends
    /// every session of the user.
    pub async fn set_password(&self, by: &Principal, user: &str, new: &str) -> Result<()> {
        let org = self.org().await?;
        org.require_user(user)?;
        if let Principal::User(b) = by
            && b != user
            && !org.user(b).is_some_and(is_admin)
        {
            return Err(HandlingError::forbidden(
                format!("{b} 不是系统管理员，不能设置他人的密码"),
                format!("{b} is not an administrator and cannot set another user's password"),
            ));
        }
        self.check_rules(user, new)?;
        let now = self.now();
        let must_change = by.name() != user;
        let cred = Credential {
            user: user.to_string(),
            phc: hash_password(new.to_string()).await?,
            must_change,
            failed: 0,
            locked_until: None,
            updated_at: now,
        };
        let entry = NewEntry {
            at: now,
            actor: by.name().to_string(),
            action: "access.password_set".into(),
            target: user_target(user),
            before: None,
            after: Some(json!({"must_change": must_change})),
        };
        self.store.put_credential(&cred, None, vec![entry]).await?;
        Ok(())
    }

    /// An administrator (or the local operator) resets a user's password: a new random
    /// one-time password, returned to be shown once, that must be changed at the next
    /// login (like the first administrator's). Clears a lockout and ends every session of
    /// the user; audited as `access.password_reset` (without the password).
    pub async fn reset_password(&self, by: &Principal, user: &str) -> Result<String> {
        let org = self.org().await?;
        org.require_user(user)?;
        if let Principal::User(b) = by
            && !org.user(b).is_some_and(is_admin)
        {
            return Err(HandlingError::forbidden(
                format!("{b} 不是系统管理员，不能重置密码"),
                format!("{b} is not an administrator and cannot reset passwords"),
            ));
        }
        let password = one_time_password()?;
        let now = self.now();
        let cred = Credential {
            user: user.to_string(),
            phc: hash_password(password.clone()).await?,
            must_change: true,
            failed: 0,
            locked_until: None,
            updated_at: now,
        };
        let entry = NewEntry {
            at: now,
            actor: by.name().to_string(),
            action: "access.password_reset".into(),
            target: user_target(user),
            before: None,
            after: Some(json!({"must_change": true})),
        };
        self.store.put_credential(&cred, None, vec![entry]).await?;
        Ok(password)
    }

    fn may_manage_tokens_of(org: &Org, by: &Principal, user: &str) -> Result<()> {
        match by {
            Principal::Operator => Ok(()),
            Principal::User(b) if b == user || org.user(b).is_some_and(is_admin) => Ok(()),
            Principal::User(b) => Err(HandlingError::forbidden(
                format!("{b} 不能管理 {user} 的令牌；只有本人或系统管理员可以"),
                format!(
                    "{b} may not manage the tokens of {user}: only they or an administrator may"
                ),
            )),
        }
    }

    /// Creates a personal API token for `user`, named `name`. The token is returned once;
    /// only its SHA-256 is kept.
    pub async fn create_token(&self, by: &Principal, user: &str, name: &str) -> Result<NewToken> {
        let org = self.org().await?;
        org.require_user(user)?;
        Self::may_manage_tokens_of(&org, by, user)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(HandlingError::invalid(
                "令牌需要一个名称（1 到 100 个字符），说明它的用途",
                "a token needs a name (1 to 100 characters) saying what it is for",
            ));
        }
        let now = self.now();
        let token = format!("{TOKEN_PREFIX}{}", new_token()?);
        let entry = NewEntry {
            at: now,
            actor: by.name().to_string(),
            action: "access.token_create".into(),
            // The store appends the new id.
            target: "token:".into(),
            before: None,
            after: Some(json!({"user": user, "name": name})),
        };
        let row = self
            .store
            .create_token(
                &NewApiToken {
                    token_hash: token_hash(&token),
                    user: user.to_string(),
                    name: name.to_string(),
                    created_at: now,
                },
                vec![entry],
            )
            .await?;
        Ok(NewToken { token, row })
    }

    /// The tokens of a user (or everyone's), revoked ones too.
    pub async fn tokens(&self, user: Option<&str>) -> Result<Vec<ApiTokenRow>> {
        Ok(self.store.api_tokens(user).await?)
    }

    /// Revokes a token (its owner, an administrator or the local operator).
    pub async fn revoke_token(&self, by: &Principal, id: i64) -> Result<ApiTokenRow> {
        let not_found = || {
            HandlingError::not_found(format!("没有编号为 {id} 的令牌"), format!("no token {id}"))
        };
        let Some(t) = self.store.api_token(id).await? else {
            return Err(not_found());
        };
        let org = self.org().await?;
        Self::may_manage_tokens_of(&org, by, &t.user)?;
        if t.revoked_at.is_some() {
            return Ok(t);
        }
        let now = self.now();
        let entry = NewEntry {
            at: now,
            actor: by.name().to_string(),
            action: "access.token_revoke".into(),
            target: format!("token:{id}"),
            before: None,
            after: Some(json!({"user": t.user, "name": t.name})),
        };
        self.store.revoke_token(id, now, vec![entry]).await?;
        self.store.api_token(id).await?.ok_or_else(not_found)
    }

    /// The live (not revoked) token with this value, its use recorded.
    pub async fn token_user(&self, token: &str) -> Result<Option<ApiTokenRow>> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let Some(t) = self.store.token_by_hash(&token_hash(token)).await? else {
            return Ok(None);
        };
        if t.revoked_at.is_some() {
            return Ok(None);
        }
        let now = self.now();
        // One write a minute at most per token.
        if t.last_used.is_none_or(|u| now - u >= Duration::minutes(1)) {
            self.store.touch_token(t.id, now).await?;
        }
        Ok(Some(t))
    }
}
