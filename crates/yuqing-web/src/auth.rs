//! Who is asking (docs/security.md, "Access"): logins, sessions, CSRF and API tokens over
//! `yuqing_handling::access::Access`.
//!
//! A request is identified, in this order, by
//! 1. `Authorization: Bearer <token>`: a `[server] push_tokens` machine token (the
//!    machine-client path: routes acting for a person also need `X-Yuqing-User: <user id>`),
//!    or a personal API token (`yq_…`, created with `POST /api/v1/tokens` or
//!    `yuqing user token`), which acts as its owner;
//! 2. the session cookie `yuqing_session` set by `POST /api/v1/login` (HttpOnly,
//!    SameSite=Strict, Path=/, and Secure with `[server] secure_cookies = true`).
//!
//! **CSRF.** [`csrf_guard`] runs before every route: a request that changes state (not
//! GET/HEAD/OPTIONS), carries the session cookie and no `Authorization` header must carry
//! `X-CSRF-Token` with the session's CSRF token (returned by login and `GET /api/v1/me`),
//! or it is refused with 403. Login itself is exempt but only accepts
//! `Content-Type: application/json`, which a cross-site form cannot send.
//!
//! A session whose password must change (the first administrator, a reset) may only use
//! `/me`, `/password` and `/logout` until it is changed.
//!
//! Routes: `POST /api/v1/login` `{user, password}` → `{user, name, roles, must_change,
//! csrf, expires_at}` and the cookie; `POST /api/v1/logout`; `GET /api/v1/me`;
//! `POST /api/v1/password` `{old, new}`; `GET /api/v1/tokens` (`?all=true` for an
//! administrator), `POST /api/v1/tokens` `{name, user?}` → the token, shown once;
//! `DELETE /api/v1/tokens/{id}`; `POST /api/v1/users/{id}/password-reset` (administrators:
//! a one-time password, shown once, to be changed at the user's next login).

use crate::api::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use yuqing_core::Code;
use yuqing_handling::access::{Access, constant_eq, csrf_for};
use yuqing_handling::cases::Principal;
use yuqing_store::{HandlingStore, Store};
use yuqing_workflow::org::Org;

/// The session cookie.
pub const SESSION_COOKIE: &str = "yuqing_session";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header naming the acting user on the machine-client path.
pub const USER_HEADER: &str = "x-yuqing-user";

/// How a request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The session cookie (the CSRF token was checked by [`csrf_guard`] on writes).
    Session { token: String, csrf: String },
    /// A personal API token.
    ApiToken { id: i64 },
    /// A `[server] push_tokens` machine token.
    Machine,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user: the session's or token's owner, or, for a machine token, the
    /// `X-Yuqing-User` header when given.
    pub user: Option<String>,
    pub via: Via,
    /// The session's password must be changed before anything else.
    pub must_change: bool,
}

impl Identity {
    pub fn is_machine(&self) -> bool {
        self.via == Via::Machine
    }
    /// The name to record as the actor: the user, else `fallback` (what a machine client
    /// said in the body), else `api`.
    pub fn actor(&self, fallback: Option<&str>) -> String {
        match (&self.user, self.is_machine()) {
            (Some(u), false) => u.clone(),
            _ => fallback
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map_or_else(|| "api".to_string(), str::to_string),
        }
    }
    fn via_str(&self) -> &'static str {
        match self.via {
            Via::Session { .. } => "session",
            Via::ApiToken { .. } => "api_token",
            Via::Machine => "machine",
        }
    }
}

/// The bearer token of the `Authorization` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.get(..7)
                .filter(|p| p.eq_ignore_ascii_case("bearer "))
                .map(|_| v[7..].trim())
        })
}

/// The value of the session cookie.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn user_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn unauthenticated() -> ApiError {
    ApiError::new(
        Code::Unauthenticated,
        "未登录：请先登录，或加请求头 Authorization: Bearer <令牌>",
        "not logged in: log in first, or send the header Authorization: Bearer <token>",
    )
}

/// Identifies a request (see the module docs); 401 when it carries nothing valid.
pub async fn resolve<S: Store + HandlingStore>(
    st: &AppState<S>,
    headers: &HeaderMap,
) -> Result<Identity, ApiError> {
    if let Some(given) = bearer(headers) {
        // Constant-time comparison so a machine token cannot be guessed byte by byte.
        if st
            .push_tokens
            .iter()
            .any(|t| constant_eq(t.as_str(), given))
        {
            return Ok(Identity {
                user: user_header(headers),
                via: Via::Machine,
                must_change: false,
            });
        }
        if let Some(access) = &st.access
            && let Some(t) = access.token_user(given).await?
        {
            return Ok(Identity {
                user: Some(t.user),
                via: Via::ApiToken { id: t.id },
                must_change: false,
            });
        }
        if st.push_tokens.is_empty() && st.access.is_none() {
            return Err(disabled());
        }
        return Err(ApiError::new(
            Code::Unauthenticated,
            "令牌无效（或已撤销）",
            "invalid (or revoked) token",
        ));
    }
    if let (Some(token), Some(access)) = (session_cookie(headers), &st.access) {
        return match access.session(token).await? {
            Some(s) => Ok(Identity {
                user: Some(s.user),
                via: Via::Session {
                    token: token.to_string(),
                    csrf: s.csrf,
                },
                must_change: s.must_change,
            }),
            None => Err(ApiError::new(
                Code::Unauthenticated,
                "会话已过期或已退出，请重新登录（或使用 Authorization: Bearer <令牌>）",
                "the session expired or was ended: log in again (or use Authorization: Bearer <token>)",
            )),
        };
    }
    if st.push_tokens.is_empty() && st.access.is_none() {
        return Err(disabled());
    }
    Err(unauthenticated())
}

fn disabled() -> ApiError {
    ApiError::new(
        Code::Forbidden,
        "写接口未启用：请在配置 [server] push_tokens 中设置令牌",
        "writing is disabled: set [server] push_tokens in the config",
    )
}

/// 403 while the session's password must be changed.
pub fn require_changed(id: &Identity) -> Result<(), ApiError> {
    if id.must_change {
        return Err(ApiError::new(
            Code::Forbidden,
            "请先修改密码（POST /api/v1/password），再使用系统",
            "change your password first (POST /api/v1/password)",
        ));
    }
    Ok(())
}

/// For routes that change documents, plans, corrections and levels: any identity whose
/// password need not change.
pub async fn writer<S: Store + HandlingStore>(
    st: &AppState<S>,
    headers: &HeaderMap,
) -> Result<Identity, ApiError> {
    let id = resolve(st, headers).await?;
    require_changed(&id)?;
    Ok(id)
}

/// Every `/api/v1` route but login needs an identity (session, API token or machine
/// token): documents, events and cases are not public. A session whose password must
/// change reaches only `/me`, `/password` and `/logout`.
pub async fn require_login<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/api/v1/") || path == "/api/v1/login" {
        return next.run(req).await;
    }
    let id = match resolve(&st, req.headers()).await {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    if !matches!(path, "/api/v1/me" | "/api/v1/password" | "/api/v1/logout")
        && let Err(e) = require_changed(&id)
    {
        return e.into_response();
    }
    next.run(req).await
}

/// Refuses a state-changing request made with the session cookie (and no
/// `Authorization` header) unless `X-CSRF-Token` is that session's CSRF token.
pub async fn csrf_guard(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let exempt = req.uri().path() == "/api/v1/login";
    if !safe
        && !exempt
        && !req.headers().contains_key(header::AUTHORIZATION)
        && let Some(token) = session_cookie(req.headers())
    {
        let ok = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| constant_eq(v.trim(), &csrf_for(token)));
        if !ok {
            return ApiError::new(
                Code::Forbidden,
                "缺少或错误的 CSRF 令牌：以登录会话修改数据时，请求头 X-CSRF-Token 必须是登录时返回的 csrf",
                "missing or wrong CSRF token: a change made with the session cookie needs the header X-CSRF-Token set to the csrf returned at login",
            )
            .into_response();
        }
    }
    next.run(req).await
}

fn service<S>(st: &AppState<S>) -> Result<&Arc<Access<S>>, ApiError>
where
    S: Store + HandlingStore,
{
    st.access.as_ref().ok_or_else(|| {
        ApiError::new(
            Code::Unavailable,
            "此节点未启用登录",
            "logins are not enabled on this node",
        )
    })
}

fn parse<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(ApiError::invalid(
            "请求体须为 JSON（Content-Type: application/json）",
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid(
            format!("请求体 JSON 无效：{e}"),
            format!("invalid JSON body: {e}"),
        )
    })
}

/// The user's name and roles, as the pages show them.
fn profile(org: &Org, user: &str) -> Value {
    let u = org.user(user);
    let roles: Vec<Value> = u
        .map(|u| {
            u.grants
                .iter()
                .map(|g| {
                    json!({
                        "unit": g.unit,
                        "unit_name": org.unit(&g.unit).map(|x| x.name.clone()),
                        "role": g.role.as_str(),
                        "label": g.role.label_zh(),
                        "label_en": g.role.label_en(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "user": user,
        "name": u.map(|u| u.name.clone()),
        "roles": roles,
    })
}

async fn org_of<S: Store + HandlingStore>(st: &AppState<S>) -> Result<Org, ApiError> {
    let (units, users) = st.store.org().await?;
    Org::new(units, users).map_err(|e| ApiError::from_display(e.code(), &e))
}

fn session_cookie_header(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let mut c =
        format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}");
    if secure {
        c.push_str("; Secure");
    }
    // Only hex and fixed ASCII: always a valid header value.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    user: String,
    password: String,
}

/// `POST /api/v1/login`.
pub async fn login<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    ext: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let access = service(&st)?;
    let b: LoginBody = parse(&headers, &body)?;
    let ip = ext
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    let s = access.login(&b.user, &b.password, &ip).await?;
    let org = org_of(&st).await?;
    let mut v = profile(&org, &s.user);
    v["must_change"] = json!(s.must_change);
    v["csrf"] = json!(s.csrf);
    v["expires_at"] = json!(s.expires_at);
    let max_age = access.settings().absolute.num_seconds();
    let mut resp = Json(v).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie_header(&s.token, max_age, st.secure_cookies),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `POST /api/v1/logout`: ends the session (if any) and clears the cookie.
pub async fn logout<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let access = service(&st)?;
    let ended = match session_cookie(&headers) {
        Some(t) => access.logout(t).await?,
        None => false,
    };
    let mut resp = Json(json!({ "logged_out": ended })).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie_header("", 0, st.secure_cookies),
    );
    Ok(resp)
}

/// `GET /api/v1/me`: who is logged in, their roles, and the session's CSRF token.
pub async fn me<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let id = resolve(&st, &headers).await?;
    let org = org_of(&st).await?;
    let mut v = match &id.user {
        Some(u) => profile(&org, u),
        None => json!({ "user": null, "name": null, "roles": [] }),
    };
    v["via"] = json!(id.via_str());
    v["must_change"] = json!(id.must_change);
    if let Via::Session { csrf, .. } = &id.via {
        v["csrf"] = json!(csrf);
    }
    Ok(Json(v))
}

/// A person (session or personal token), not a machine token.
fn person(id: &Identity) -> Result<String, ApiError> {
    match (&id.user, id.is_machine()) {
        (Some(u), false) => Ok(u.clone()),
        _ => Err(ApiError::new(
            Code::Forbidden,
            "此操作须以本人身份登录（会话或个人令牌）；机器令牌不能使用，运维请用 yuqing user 命令",
            "this needs a person logged in (session or personal token), not a machine token; operators use the yuqing user command",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    old: String,
    new: String,
}

/// `POST /api/v1/password`: the user changes their own password.
pub async fn password<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let access = service(&st)?;
    let id = resolve(&st, &headers).await?;
    let user = person(&id)?;
    let b: PasswordBody = parse(&headers, &body)?;
    let current = match &id.via {
        Via::Session { token, .. } => Some(token.as_str()),
        _ => None,
    };
    access
        .change_password(&user, &b.old, &b.new, current)
        .await?;
    Ok(Json(json!({ "user": user, "must_change": false })))
}

#[derive(Deserialize)]
pub struct TokenParams {
    #[serde(default)]
    all: bool,
}

/// `GET /api/v1/tokens`: the user's tokens (`?all=true`: everyone's, for an
/// administrator). Never the tokens themselves.
pub async fn list_tokens<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<TokenParams>,
) -> Result<Json<Value>, ApiError> {
    let access = service(&st)?;
    let id = resolve(&st, &headers).await?;
    require_changed(&id)?;
    let user = person(&id)?;
    let tokens = if p.all {
        if !access.is_admin(&user).await? {
            return Err(ApiError::new(
                Code::Forbidden,
                format!("{user} 不是系统管理员，不能查看他人的令牌"),
                format!("{user} is not an administrator and cannot list others' tokens"),
            ));
        }
        access.tokens(None).await?
    } else {
        access.tokens(Some(&user)).await?
    };
    Ok(Json(json!({ "tokens": tokens })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
    /// Another user's (administrators only).
    #[serde(default)]
    user: Option<String>,
}

/// `POST /api/v1/tokens`: a new personal API token, shown once in `token`.
pub async fn create_token<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let access = service(&st)?;
    let id = resolve(&st, &headers).await?;
    require_changed(&id)?;
    let by = person(&id)?;
    let b: NewTokenBody = parse(&headers, &body)?;
    let owner = b.user.unwrap_or_else(|| by.clone());
    let t = access
        .create_token(&Principal::User(by), &owner, &b.name)
        .await?;
    let mut resp = (
        StatusCode::CREATED,
        Json(serde_json::to_value(&t).unwrap_or(Value::Null)),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `DELETE /api/v1/tokens/{id}`: revokes a token (its owner or an administrator).
pub async fn revoke_token<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(token_id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let access = service(&st)?;
    let id = resolve(&st, &headers).await?;
    require_changed(&id)?;
    let by = person(&id)?;
    let t = access.revoke_token(&Principal::User(by), token_id).await?;
    Ok(Json(json!({ "token": t })))
}

/// `POST /api/v1/users/{id}/password-reset`: an administrator resets a user's password.
/// Answers `{user, password, must_change: true}`: the one-time password is in this answer
/// only (`Cache-Control: no-store`); the user's sessions end and the next login must change
/// it. A machine token cannot reset (no person to audit); operators use `yuqing user passwd`.
pub async fn reset_password<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(user): Path<String>,
) -> Result<Response, ApiError> {
    let access = service(&st)?;
    let id = resolve(&st, &headers).await?;
    require_changed(&id)?;
    let by = person(&id)?;
    let password = access.reset_password(&Principal::User(by), &user).await?;
    let mut resp =
        Json(json!({ "user": user, "password": password, "must_change": true })).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
