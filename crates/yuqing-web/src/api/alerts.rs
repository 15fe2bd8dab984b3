//! Alert routes (预警): the in-app inbox, one alert with its delivery log and escalation
//! notices, and acknowledgement. Identity as for cases (a login, a personal token, or a
//! machine token with `X-Yuqing-User`, see `auth.rs`); acknowledging needs a user the
//! organisation knows. Listing and reading are still open, like the other reads.

use super::AppState;
use super::cases::{CaseError, identify};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use yuqing_core::Code;
use yuqing_store::handling::{AlertQuery, AlertRow};
use yuqing_store::{HandlingStore, Store};

use crate::error::ApiError;

#[derive(Debug, Deserialize)]
pub struct ListParams {
    /// Only unacknowledged ones.
    #[serde(default)]
    pub unacked: bool,
    /// Raised at or after (RFC 3339 or YYYY-MM-DD, Beijing time).
    pub since: Option<String>,
    pub event: Option<i64>,
    pub limit: Option<i64>,
}

fn summary(a: &AlertRow) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    v["level_label"] =
        json!(yuqing_judge::grading::Level::from_code(a.level).map_or("", |l| l.label_zh()));
    v
}

fn not_found(id: i64) -> CaseError {
    ApiError::new(
        Code::NotFound,
        format!("没有编号为 {id} 的预警"),
        format!("no alert {id}"),
    )
    .into()
}

/// `GET /api/v1/alerts?unacked&since&event&limit`: newest first.
pub async fn list_alerts<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, CaseError> {
    let since = match p.since.as_deref() {
        Some(s) => Some(
            yuqing_core::document::parse_time_str(s.trim(), yuqing_core::document::beijing())
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    ApiError::invalid(
                        format!("参数 since 不是时间：{e}"),
                        format!("since is not a time: {e}"),
                    )
                })?,
        ),
        None => None,
    };
    let rows = st
        .store
        .alerts(&AlertQuery {
            unacked: p.unacked,
            since,
            event_id: p.event,
            limit: p.limit.unwrap_or(100).clamp(1, 1000),
        })
        .await?;
    Ok(Json(
        json!({ "alerts": rows.iter().map(summary).collect::<Vec<_>>() }),
    ))
}

/// `GET /api/v1/alerts/{id}`: the alert, its deliveries (every attempt) and its
/// escalation notices.
pub async fn get_alert<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, CaseError> {
    let a = st.store.alert(id).await?.ok_or_else(|| not_found(id))?;
    let deliveries: Vec<Value> = st
        .store
        .outbox_of(&id.to_string())
        .await?
        .into_iter()
        .map(|r| {
            json!({
                "channel": r.channel,
                "enqueued_at": r.enqueued_at,
                "next_at": r.next_at,
                "delivered_at": r.delivered_at,
                "attempts": r.body.get("log").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    let notices = st.store.notices(&[id]).await?;
    let mut v = summary(&a);
    v["deliveries"] = json!(deliveries);
    v["notices"] = json!(notices);
    Ok(Json(v))
}

/// `POST /api/v1/alerts/{id}/ack`: acknowledges (the first acknowledgement stands).
pub async fn ack_alert<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<Value>, CaseError> {
    let (svc, user, _) = identify(&st, &headers).await?;
    let a = st
        .store
        .ack_alert(id, &user, svc.now())
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(Json(summary(&a)))
}
