//! Case handling over HTTP (docs/specs/case-workflow.md §8): cases, the organisation, the
//! duty roster, the audit log and statistics, through `yuqing_handling::cases::Cases`.
//!
//! **Identity** (`crate::auth`). Every request here needs a user: the session cookie of a
//! login (writes with `X-CSRF-Token`) or a personal API token act as their owner; the
//! machine-client path, a `[server] push_tokens` bearer token, must name the acting or
//! viewing user in `X-Yuqing-User: <user id>`. Nothing or no user → 401, a user the
//! organisation does not know → 403. Roles are always looked up in the stored
//! organisation. A refused step answers with its code's status and a `reason`
//! (`self_approval`, `out_of_scope`, `version_conflict`, …); a stale `expected_version` is
//! 409.

use super::AppState;
use crate::auth::{self, Identity};
use crate::error::{ApiError, status};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use yuqing_core::Code;
use yuqing_handling::HandlingError;
use yuqing_handling::cases::{CaseFilter, Cases, NewCase, OrgFile, Principal, Stats};
use yuqing_store::handling::NewDutySlot;
use yuqing_store::{HandlingStore, Store};
use yuqing_workflow::audit::Anchor;
use yuqing_workflow::case::{Action, CaseState};
use yuqing_workflow::org::{Org, Role};
use yuqing_workflow::stats::Period;

/// The header naming the acting user.
pub const USER_HEADER: &str = "x-yuqing-user";

/// An error of these routes: the usual body plus the workflow's stable `reason`.
pub struct CaseError {
    api: ApiError,
    reason: Option<&'static str>,
}

impl From<ApiError> for CaseError {
    fn from(api: ApiError) -> Self {
        Self { api, reason: None }
    }
}

impl From<HandlingError> for CaseError {
    fn from(e: HandlingError) -> Self {
        Self {
            api: ApiError::from_display(e.code(), &e),
            reason: e.reason(),
        }
    }
}

impl From<yuqing_store::StoreError> for CaseError {
    fn from(e: yuqing_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for CaseError {
    fn into_response(self) -> Response {
        let Some(reason) = self.reason else {
            return self.api.into_response();
        };
        let a = self.api;
        let kind = match a.code {
            Code::Internal | Code::Unavailable => "system",
            Code::Unauthenticated | Code::Forbidden => "auth",
            _ => "invalid_request",
        };
        let body = json!({
            "message": a.zh,
            "message_en": a.en,
            "code": a.code.as_str(),
            "type": kind,
            "reason": reason,
            "link": format!("/docs/errors#{}", a.code.as_str()),
        });
        (status(a.code), Json(body)).into_response()
    }
}

type Reply = Result<Response, CaseError>;

fn service<S: Store + HandlingStore>(st: &AppState<S>) -> Result<&Arc<Cases<S>>, CaseError> {
    st.cases.as_ref().ok_or_else(|| {
        ApiError::new(
            Code::Unavailable,
            "此节点未启用案件处置",
            "case handling is not enabled on this node",
        )
        .into()
    })
}

/// The `X-Yuqing-User` header, or 401.
fn user_header(headers: &HeaderMap) -> Result<String, CaseError> {
    let user = headers
        .get(USER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match user {
        Some(u) => Ok(u.to_string()),
        None => Err(ApiError::new(
            Code::Unauthenticated,
            "缺少用户：请加请求头 X-Yuqing-User: <用户账号>",
            "missing user: send the header X-Yuqing-User: <user id>",
        )
        .into()),
    }
}

/// The acting user: a session's or personal token's owner, or `X-Yuqing-User` on the
/// machine-client path.
fn acting_user(id: &Identity, headers: &HeaderMap) -> Result<String, CaseError> {
    match &id.user {
        Some(u) if !id.is_machine() => Ok(u.clone()),
        _ => user_header(headers),
    }
}

/// An identity, its user, and a user the organisation knows; returns the service, the
/// user and the organisation.
pub(super) async fn identify<S: Store + HandlingStore>(
    st: &AppState<S>,
    headers: &HeaderMap,
) -> Result<(Arc<Cases<S>>, String, Org), CaseError> {
    let id = auth::resolve(st, headers).await?;
    auth::require_changed(&id)?;
    let svc = service(st)?.clone();
    let user = acting_user(&id, headers)?;
    let org = svc.org().await?;
    if org.user(&user).is_none() {
        return Err(ApiError::new(
            Code::Forbidden,
            format!("用户 {user} 不在组织架构中；X-Yuqing-User 必须是已登记的用户账号"),
            format!("user {user} is not in the organisation: X-Yuqing-User must name a known user"),
        )
        .into());
    }
    Ok((svc, user, org))
}

fn ok(v: impl serde::Serialize) -> Reply {
    Ok(Json(serde_json::to_value(v).unwrap_or(Value::Null)).into_response())
}

fn created(v: impl serde::Serialize) -> Reply {
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(v).unwrap_or(Value::Null)),
    )
        .into_response())
}

/// The end of a period: as [`time_param`], but a bare date means the end of that day.
pub(super) fn end_param(name: &str, v: &str) -> Result<DateTime<Utc>, CaseError> {
    let t = time_param(name, v)?;
    Ok(
        if chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").is_ok() {
            t + Duration::days(1)
        } else {
            t
        },
    )
}

fn time_param(name: &str, v: &str) -> Result<DateTime<Utc>, CaseError> {
    yuqing_core::document::parse_time_str(v.trim(), yuqing_core::document::beijing())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid(
                format!("参数 {name} 的时间 {v:?} 无效：请用 RFC 3339 或 YYYY-MM-DD（北京时间）"),
                format!("{name}: invalid time {v:?}: use RFC 3339 or YYYY-MM-DD (Beijing time)"),
            )
            .into()
        })
}

pub(super) fn body<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, CaseError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid(
            format!("{what}的 JSON 无效：{e}"),
            format!("invalid {what} JSON: {e}"),
        )
        .into()
    })
}

// ---- cases ----

#[derive(Debug, Deserialize)]
pub struct ListParams {
    /// Comma-separated states.
    state: Option<String>,
    unit: Option<String>,
    limit: Option<usize>,
}

pub async fn list_cases<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<ListParams>,
) -> Reply {
    let (svc, user, _) = identify(&st, &headers).await?;
    let mut states = Vec::new();
    for s in p.state.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if s.is_empty() {
            continue;
        }
        match CaseState::parse(s) {
            Some(x) => states.push(x),
            None => {
                return Err(ApiError::invalid(
                    format!("未知的状态 {s}"),
                    format!("unknown state {s}"),
                )
                .into());
            }
        }
    }
    let filter = CaseFilter {
        states,
        unit: p.unit,
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
    };
    let cases = svc.list(&Principal::User(user), &filter).await?;
    ok(json!({ "cases": cases }))
}

pub async fn create_case<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Reply {
    let (svc, user, _) = identify(&st, &headers).await?;
    let input: NewCase = body("案件", &bytes)?;
    let case = svc.register(input, &user).await?;
    created(case)
}

pub async fn get_case<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let (svc, user, _) = identify(&st, &headers).await?;
    ok(svc.timeline(&id, &Principal::User(user)).await?)
}

pub async fn act<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: axum::body::Bytes,
) -> Reply {
    let (svc, user, _) = identify(&st, &headers).await?;
    let action: Action = body("动作", &bytes)?;
    ok(svc.apply(&id, action, &user).await?)
}

// ---- organisation ----

/// The organisation as `viewer` may see it: mobile numbers, e-mail addresses and Feishu ids
/// only to administrators and to their owners (everyone else sees names and roles).
fn org_json(org: &Org, viewer: &str) -> Value {
    let admin = org
        .user(viewer)
        .is_some_and(|u| u.grants.iter().any(|g| g.role == Role::Admin));
    let users: Vec<_> = org
        .users()
        .map(|u| {
            let mut u = u.clone();
            if !admin && u.id != viewer {
                u.mobile = None;
                u.email = None;
                u.feishu = None;
            }
            u
        })
        .collect();
    json!({
        "units": org.units().collect::<Vec<_>>(),
        "users": users,
    })
}

pub async fn get_org<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> Reply {
    let (_, user, org) = identify(&st, &headers).await?;
    ok(org_json(&org, &user))
}

pub async fn put_org<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Reply {
    // No "known user" check: the first import creates the users (the service lets anyone
    // bootstrap an organisation without an administrator, and only an administrator
    // change one that has).
    let id = auth::resolve(&st, &headers).await?;
    auth::require_changed(&id)?;
    let svc = service(&st)?.clone();
    let user = acting_user(&id, &headers)?;
    let f: OrgFile = body("组织架构", &bytes)?;
    let org = svc
        .put_org(f.units, f.users, &Principal::User(user.clone()))
        .await?;
    ok(org_json(&org, &user))
}

// ---- duty ----

#[derive(Debug, Deserialize)]
pub struct DutyParams {
    from: Option<String>,
    to: Option<String>,
    /// Who is on duty at this time.
    at: Option<String>,
}

pub async fn list_duty<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<DutyParams>,
) -> Reply {
    let (svc, _, _) = identify(&st, &headers).await?;
    let slots = if let Some(at) = &p.at {
        svc.on_duty(time_param("at", at)?).await?
    } else {
        let now = svc.now();
        let from = p
            .from
            .as_deref()
            .map(|v| time_param("from", v))
            .transpose()?
            .unwrap_or(now);
        let to =
            p.to.as_deref()
                .map(|v| time_param("to", v))
                .transpose()?
                .unwrap_or(from + Duration::days(7));
        svc.duty(from, to).await?
    };
    ok(json!({ "duty": slots }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DutyInput {
    unit: String,
    user: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[serde(default)]
    position: i64,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    Many(Vec<DutyInput>),
    One(DutyInput),
}

pub async fn add_duty<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Reply {
    let (svc, user, _) = identify(&st, &headers).await?;
    let input: OneOrMany = body("值班", &bytes)?;
    let list = match input {
        OneOrMany::Many(v) => v,
        OneOrMany::One(x) => vec![x],
    };
    let slots = list
        .into_iter()
        .map(|d| NewDutySlot {
            unit: d.unit,
            user: d.user,
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            position: d.position,
            note: d.note,
        })
        .collect();
    let added = svc.add_duty(slots, &Principal::User(user)).await?;
    created(json!({ "duty": added }))
}

/// `POST /api/v1/stats/adjustments` `{"user", "points", "reason", "case"?, "at"?}`: a
/// leader's 加减分 → 201 `{"adjustment"}`.
pub async fn adjust_points<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Reply {
    let (svc, user, _) = identify(&st, &headers).await?;
    let input: yuqing_handling::cases::AdjustPoints = body("加减分", &bytes)?;
    let a = svc.adjust_points(input, &Principal::User(user)).await?;
    created(json!({ "adjustment": a }))
}

/// `POST /api/v1/stats/adjustments/{id}/revoke`: kept, and counts for nothing.
pub async fn revoke_adjustment<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Reply {
    let (svc, user, _) = identify(&st, &headers).await?;
    let a = svc.revoke_adjustment(id, &Principal::User(user)).await?;
    ok(json!({ "adjustment": a }))
}

pub async fn remove_duty<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Reply {
    let (svc, user, _) = identify(&st, &headers).await?;
    svc.remove_duty(id, &Principal::User(user)).await?;
    ok(json!({ "removed": id }))
}

// ---- audit ----

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    after: Option<u64>,
    limit: Option<i64>,
}

pub async fn audit_log<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<AuditParams>,
) -> Reply {
    let (svc, user, org) = identify(&st, &headers).await?;
    // The log holds every case's data: only administrators read it whole.
    let admin = org
        .user(&user)
        .is_some_and(|u| u.grants.iter().any(|g| g.role == Role::Admin));
    if !admin {
        return Err(ApiError::new(
            Code::Forbidden,
            format!("{user} 不是系统管理员，不能查看审计日志"),
            format!("{user} is not an administrator and cannot read the audit log"),
        )
        .into());
    }
    let entries = svc
        .audit(p.after.unwrap_or(0), p.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    ok(json!({ "entries": entries }))
}

#[derive(Debug, Deserialize)]
pub struct VerifyParams {
    /// `SEQ:HASH`, a head kept elsewhere.
    anchor: Option<String>,
}

pub async fn audit_verify<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<VerifyParams>,
) -> Reply {
    let (svc, _, _) = identify(&st, &headers).await?;
    let anchor = match p.anchor.as_deref() {
        None => None,
        Some(a) => {
            let parsed = a.split_once(':').and_then(|(s, h)| {
                Some(Anchor {
                    seq: s.parse().ok()?,
                    hash: h.to_ascii_lowercase(),
                })
            });
            match parsed {
                Some(x) => Some(x),
                None => {
                    return Err(ApiError::invalid(
                        "anchor 应写成 序号:哈希",
                        "anchor must be SEQ:HASH",
                    )
                    .into());
                }
            }
        }
    };
    ok(svc.verify_audit(anchor).await?)
}

// ---- statistics ----

#[derive(Debug, Deserialize)]
pub struct StatsParams {
    pub(super) from: String,
    pub(super) to: String,
    pub(super) as_of: Option<String>,
}

pub async fn stats<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<StatsParams>,
) -> Reply {
    ok(stats_of(&st, &headers, &p).await?.0)
}

/// The statistics `p` asks for, as the caller may see them, with the organisation (for
/// names) and the service (for the weights of the points).
pub(super) async fn stats_of<S: Store + HandlingStore>(
    st: &Arc<AppState<S>>,
    headers: &HeaderMap,
    p: &StatsParams,
) -> Result<(Stats, Org, Arc<Cases<S>>), CaseError> {
    let (svc, user, org) = identify(st, headers).await?;
    let period = Period {
        from: time_param("from", &p.from)?,
        to: end_param("to", &p.to)?,
    };
    let as_of = match &p.as_of {
        Some(v) => time_param("as_of", v)?,
        None => svc.now(),
    };
    let stats = svc.stats(&Principal::User(user), period, as_of).await?;
    Ok((stats, org, svc))
}
