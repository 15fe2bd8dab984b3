//! Storage of access (登录与令牌): the [`AccessStore`] trait and its rows.
//!
//! Owns the persistence of password credentials (one per user of the organisation),
//! browser sessions and personal API tokens. The rules (hashing, expiry, lockout) live in
//! `yuqing-handling::access`; this crate only keeps what it is given.
//!
//! Invariants every backend keeps:
//! - no secret is stored in clear: a credential holds an argon2id PHC string, a session
//!   or API token only the hex SHA-256 of the token;
//! - every method that takes `audit` appends those entries to the audit chain in the same
//!   transaction (the entries themselves never carry a secret);
//! - replacing a credential ends every other session of that user in the same
//!   transaction, so a changed or reset password locks out whoever held the old one;
//! - starting a session clears the user's failed attempts and lockout.

use crate::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::future::Future;
use yuqing_workflow::audit::NewEntry;

/// A user's password credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub user: String,
    /// argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    pub phc: String,
    /// The password was set by someone else (or generated): it must be changed at the
    /// next login before anything else.
    pub must_change: bool,
    /// Failed logins since the last successful one.
    pub failed: i64,
    /// Logins are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Credential {
    // The hash is left out: it is not a secret in clear, but it can be attacked offline
    // and has no business in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("user", &self.user)
            .field("phc", &"<redacted>")
            .field("must_change", &self.must_change)
            .field("failed", &self.failed)
            .field("locked_until", &self.locked_until)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A browser session. The token itself is only in the user's cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Hex SHA-256 of the session token.
    pub token_hash: String,
    pub user: String,
    /// The CSRF token the browser must echo in `X-CSRF-Token` on writes.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Absolute expiry.
    pub expires_at: DateTime<Utc>,
}

/// A personal API token (the token itself was shown once, when it was created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenRow {
    pub id: i64,
    #[serde(skip)]
    pub token_hash: String,
    pub user: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An API token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    pub user: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Persistence of credentials, sessions and API tokens.
pub trait AccessStore: Send + Sync + 'static {
    // ---- credentials ----

    /// The credential of a user.
    fn credential(&self, user: &str) -> impl Future<Output = Result<Option<Credential>>> + Send;
    /// The users that have a credential, by id.
    fn credential_users(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Creates or replaces a user's credential and ends the user's sessions, except the
    /// one whose hash is `keep_session` (the session that changed its own password).
    fn put_credential(
        &self,
        cred: &Credential,
        keep_session: Option<&str>,
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Records a failed login: the new count and lockout of an existing credential.
    fn record_failure(
        &self,
        user: &str,
        failed: i64,
        locked_until: Option<DateTime<Utc>>,
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<()>> + Send;

    // ---- sessions ----

    /// Stores a new session and clears the user's failed attempts and lockout.
    fn start_session(
        &self,
        session: &SessionRow,
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A session by the hash of its token.
    fn session(&self, token_hash: &str) -> impl Future<Output = Result<Option<SessionRow>>> + Send;
    /// Records activity on a session.
    fn touch_session(
        &self,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Ends a session; false when there is none.
    fn end_session(
        &self,
        token_hash: &str,
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Deletes sessions idle since before `idle_before` or past `expires_at <= now`
    /// (housekeeping of sessions nobody can use any more: not audited). Returns how many.
    fn purge_sessions(
        &self,
        idle_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    // ---- API tokens ----

    /// Stores a new API token. An audit entry whose target ends with `:` (`token:`) gets
    /// the new token's id appended.
    fn create_token(
        &self,
        token: &NewApiToken,
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<ApiTokenRow>> + Send;
    /// A token by the hash of its value (revoked ones too).
    fn token_by_hash(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<ApiTokenRow>>> + Send;
    /// A token by id.
    fn api_token(&self, id: i64) -> impl Future<Output = Result<Option<ApiTokenRow>>> + Send;
    /// The tokens of a user (or everyone's), by id.
    fn api_tokens(
        &self,
        user: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ApiTokenRow>>> + Send;
    /// Revokes a token; false when there is none or it was already revoked.
    fn revoke_token(
        &self,
        id: i64,
        at: DateTime<Utc>,
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Records the use of a token.
    fn touch_token(&self, id: i64, at: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;
}
