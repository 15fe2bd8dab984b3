//! Read-only views the web pages need beyond the case and alert routes. Identity as for
//! cases (`cases::identify`: a login, a personal token, or a machine token with
//! `X-Yuqing-User`).
//!
//! - `GET /api/v1/deadlines?state=a,b&limit`: the deadline board of the viewer's cases
//!   (open cases unless `state` says otherwise), one list per case with every deadline's
//!   `due_at`, `met_at`, `status` (`met_on_time`, `met_late`, `pending`, `overdue`) and
//!   `late`, and `supervised` (a 督办 was sent), so the 处置 board shows its countdowns in
//!   one request instead of one per case.
//! - `GET /api/v1/special-periods`: the special periods (特殊时期) of `[judgement.grading]`
//!   the writer's judge grades with.
//!
//! Alert rules and channels live only in the config file of `serve` and are not in
//! `AppState`; the admin page says so.

use super::AppState;
use super::cases::{CaseError, identify};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use yuqing_handling::cases::{CaseFilter, DeadlineView, Principal};
use yuqing_store::{HandlingStore, Store};
use yuqing_workflow::CaseState;

#[derive(Debug, Deserialize)]
pub struct BoardParams {
    /// Comma-separated states; default: every open state.
    state: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/deadlines`.
pub async fn deadlines<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<BoardParams>,
) -> Result<Json<Value>, CaseError> {
    let (svc, user, _) = identify(&st, &headers).await?;
    let mut states = Vec::new();
    for s in p.state.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if s.is_empty() {
            continue;
        }
        states.push(CaseState::parse(s).ok_or_else(|| {
            crate::error::ApiError::invalid(format!("未知的状态 {s}"), format!("unknown state {s}"))
        })?);
    }
    if states.is_empty() {
        states = CaseState::ALL.into_iter().filter(|s| s.is_open()).collect();
    }
    let filter = CaseFilter {
        states,
        unit: None,
        limit: p.limit.unwrap_or(500).clamp(1, 2000),
    };
    let cases = svc.list(&Principal::User(user), &filter).await?;
    let as_of = svc.now();
    let supervised: BTreeSet<String> = st
        .store
        .reminders(None)
        .await?
        .into_iter()
        .filter(|r| r.kind == "supervise")
        .map(|r| r.case_id)
        .collect();
    let mut out = BTreeMap::new();
    for c in &cases {
        let list = DeadlineView::of(c, svc.rules(), as_of);
        out.insert(
            c.id.clone(),
            json!({ "deadlines": list, "supervised": supervised.contains(&c.id) }),
        );
    }
    Ok(Json(json!({ "as_of": as_of, "cases": out })))
}

/// `GET /api/v1/special-periods`.
pub async fn special_periods<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> Result<Json<Value>, CaseError> {
    let (svc, _, _) = identify(&st, &headers).await?;
    let now = svc.now();
    let periods: Vec<Value> = st
        .judge
        .rules()
        .special_periods
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
            v["active"] = json!(p.contains(now));
            v
        })
        .collect();
    Ok(Json(json!({ "special_periods": periods })))
}

fn settings_of<S: Store + HandlingStore>(
    st: &AppState<S>,
) -> Result<&Arc<yuqing_handling::HandlingSettings>, CaseError> {
    st.handling.as_ref().ok_or_else(|| {
        crate::error::ApiError::new(
            yuqing_core::Code::Unavailable,
            "此节点未加载预警设置",
            "alert settings are not loaded on this node",
        )
        .into()
    })
}

/// `GET /api/v1/channels`: the configured channels by name and type (no URL, token or
/// password: those are secrets of the config file).
pub async fn channels<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> Result<Json<Value>, CaseError> {
    let id = crate::auth::resolve(&st, &headers).await?;
    crate::auth::require_changed(&id)?;
    let s = settings_of(&st)?;
    let list: Vec<Value> = s
        .channels
        .iter()
        .map(|c| json!({ "name": c.name(), "type": c.kind() }))
        .collect();
    Ok(Json(json!({ "channels": list })))
}

/// `GET /api/v1/alert-rules`: the rules in force (built-in and configured), each with a
/// description, and the quiet hours and escalation settings.
pub async fn alert_rules<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> Result<Json<Value>, CaseError> {
    let id = crate::auth::resolve(&st, &headers).await?;
    crate::auth::require_changed(&id)?;
    let s = settings_of(&st)?;
    let rules: Vec<Value> = s
        .alerts
        .effective_rules(&s.alert_rules)
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            v["describe_zh"] = json!(r.describe_zh());
            v["describe_en"] = json!(r.describe_en());
            v
        })
        .collect();
    Ok(Json(json!({
        "enabled": s.alerts.enabled,
        "max_age": s.alerts.max_age.to_string(),
        "quiet_hours": s.alerts.quiet_hours,
        "escalation": s.alerts.escalation,
        "rules": rules,
    })))
}
