//! Alert routes (预警): the in-app inbox, one alert with its delivery log and escalation
//! notices, acknowledgement, a person's verdict (属实/误报) and the false alarms per plan. Identity as for cases (a login, a personal token, or a
//! machine token with `X-Yuqing-User`, see `auth.rs`); acknowledging needs a user the
//! organisation knows. Listing and reading are still open, like the other reads.

use super::AppState;
use super::cases::{CaseError, body, identify};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use yuqing_core::Code;
use yuqing_store::handling::{AlertQuery, AlertRow, AlertVerdict, Verdict};
use yuqing_store::{HandlingStore, Store};

use crate::error::ApiError;

#[derive(Debug, Deserialize)]
pub struct ListParams {
    /// Only unacknowledged ones.
    #[serde(default)]
    pub unacked: bool,
    /// Raised at or after (RFC 3339 or YYYY-MM-DD, Beijing time).
    pub since: Option<String>,
    /// Raised before (RFC 3339, or YYYY-MM-DD: to the end of that day).
    pub until: Option<String>,
    pub event: Option<i64>,
    pub limit: Option<i64>,
}

/// An alert as the pages show it, without the mobile numbers, e-mail addresses and Feishu
/// ids of the people its message names (the person on duty): only administrators and their owners see
/// those (`GET /org`).
pub(crate) fn alert_json(a: &AlertRow) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Some(m) = v.get_mut("message").and_then(Value::as_object_mut) {
        m.remove("mention");
        m.remove("mention_email");
        m.remove("mention_feishu");
    }
    v
}

/// An alert as the inbox shows it ([`alert_json`] with the level's label).
fn summary(a: &AlertRow) -> Value {
    let mut v = alert_json(a);
    v["level_label"] =
        json!(yuqing_judge::grading::Level::from_code(a.level).map_or("", |l| l.label_zh()));
    v
}

/// `since` (RFC 3339 or YYYY-MM-DD, Beijing time), if given.
fn since_param(since: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, CaseError> {
    since
        .map(|s| {
            yuqing_core::document::parse_time_str(s.trim(), yuqing_core::document::beijing())
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    ApiError::invalid(
                        format!("参数 since 不是时间：{e}"),
                        format!("since is not a time: {e}"),
                    )
                    .into()
                })
        })
        .transpose()
}

/// `until` (RFC 3339, or YYYY-MM-DD: the end of that Beijing day), if given.
fn until_param(until: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, CaseError> {
    until
        .map(|u| super::cases::end_param("until", u))
        .transpose()
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
    let since = since_param(p.since.as_deref())?;
    let rows = st
        .store
        .alerts(&AlertQuery {
            unacked: p.unacked,
            since,
            until: until_param(p.until.as_deref())?,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictBody {
    /// `confirmed` (属实) or `false_alarm` (误报).
    pub verdict: Verdict,
    #[serde(default)]
    pub note: String,
}

/// `POST /api/v1/alerts/{id}/verdict` `{"verdict": "false_alarm", "note": "…"}`: a
/// person's verdict (a later one replaces it; acknowledges the alert if nobody had).
pub async fn set_verdict<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    bytes: axum::body::Bytes,
) -> Result<Json<Value>, CaseError> {
    let (svc, user, _) = identify(&st, &headers).await?;
    let b: VerdictBody = body("研判结论", &bytes)?;
    let v = AlertVerdict::new(b.verdict, &b.note, &user, svc.now());
    let a = st
        .store
        .set_alert_verdict(id, &v)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(Json(summary(&a)))
}

#[derive(Debug, Deserialize)]
pub struct QualityParams {
    /// Alerts raised at or after (RFC 3339 or YYYY-MM-DD, Beijing time).
    pub since: Option<String>,
    /// Alerts raised before (RFC 3339, or YYYY-MM-DD: to the end of that day).
    pub until: Option<String>,
}

/// `GET /api/v1/alerts/quality?since&until`: per monitoring plan, its alerts and how many were
/// confirmed or false alarms (`yuqing_handling::verdicts`), most false alarms first.
pub async fn quality<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    Query(p): Query<QualityParams>,
) -> Result<Json<Value>, CaseError> {
    let rows = st
        .store
        .alerts(&AlertQuery {
            since: since_param(p.since.as_deref())?,
            until: until_param(p.until.as_deref())?,
            ..Default::default()
        })
        .await?;
    Ok(Json(
        json!({ "plans": yuqing_handling::verdicts::plan_quality(&rows) }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbox_does_not_show_whom_an_alert_mentions() {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let a = AlertRow {
            id: 7,
            event_id: 3,
            level: 3,
            rule: "r".into(),
            plan: Some("p".into()),
            first_seq: 1,
            last_seq: 1,
            hits: 1,
            raised_at: t,
            updated_at: t,
            acked_at: None,
            acked_by: None,
            case_id: None,
            message: json!({"title": "食堂", "mention": ["13700000000"]}),
            verdict: None,
        };
        let v = summary(&a);
        assert_eq!(v["message"]["title"], "食堂");
        assert!(v["message"].get("mention").is_none(), "{v}");
        assert!(!v.to_string().contains("13700000000"), "{v}");
        assert_eq!(v["level_label"], "重大");
    }
}
