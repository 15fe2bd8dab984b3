//! Routes of the JSON API (`/api/v1/...`), health and metrics. Every write needs an
//! identity (`crate::auth`): the session cookie of a login (with `X-CSRF-Token`), a
//! personal API token, or one of `[server] push_tokens` (`Authorization: Bearer`).
//!
//! - Access (`auth.rs`): `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/me`,
//!   `POST /api/v1/password`, `GET|POST /api/v1/tokens`, `DELETE /api/v1/tokens/{id}`,
//!   `POST /api/v1/users/{id}/password-reset` (administrators; a one-time password).
//! - `POST /api/v1/documents`: push documents (JSON array or NDJSON); returns one result
//!   per document, in order.
//! - `GET /api/v1/search`, `GET /api/v1/count`: `q` is a plain word (the substring search
//!   of the CLI) or a plan expression (`api/plan_query.rs`; a malformed one is a 400 with
//!   its position), plus the store's filters `sentiment`, `level`, `plan`, `region`
//!   (`api/dashboard.rs`); hits carry `sentiment`, `corrected` and `event_level` (and the
//!   plan's hit `terms`).
//! - Dashboard (`api/dashboard.rs`, login or token): `GET /api/v1/dashboard?range=today|week&at`
//!   (volume by hour with the previous period, sentiment, platforms, hot words, top
//!   events, latest alerts, overdue cases, source health);
//!   `GET /api/v1/search/export.xlsx?<search parameters>` (at most 10,000 rows).
//! - `GET /api/v1/documents/{platform}/{id}`: a stored document with its `judgement`
//!   (sentiment, content type, categories, corrections, event, plan hits).
//! - `POST /api/v1/documents/{platform}/{id}/corrections`
//!   `{"sentiment"?, "content_type"?, "by", "note"?}`: a person corrects the judgement;
//!   returns the stored corrections.
//! - `GET /api/v1/events?limit&offset&min_level&min_documents`: `{"events": [summary]}`,
//!   most serious first.
//! - `GET /api/v1/events/{id}`: the full event analysis (docs/specs/events.md).
//! - `GET /api/v1/events/{id}/documents?offset&limit` (the event's documents, paged) and
//!   `GET /api/v1/events/{id}/tree?max` (the propagation tree cut to a readable size) for
//!   the event page (`api/event_members.rs`; login or token).
//! - `PUT /api/v1/events/{id}/level` `{"level", "by", "reason"}`: a level set by hand;
//!   returns the event's summary.
//! - `GET /api/v1/plans`: monitoring plans with `hits` and `spike`;
//!   `POST /api/v1/plans` `{"name", "expression" | "region"/"subject"/"event"/"exclusion",
//!   "active"?, "by"?}`: creates or replaces (by name), returns the plan and lint messages;
//!   `PATCH /api/v1/plans/{id}` `{"active"}`; `DELETE /api/v1/plans/{id}`;
//!   `GET /api/v1/plans/{id}/hits?limit&before`: hits, newest first, paged by seq.
//! - `POST /api/v1/plans/preview` `{"expression" | "region"/…, "since"?, "until"?,
//!   "samples"?}`: the plan editor's live preview (`api/plans_preview.rs`; login or
//!   token): count, daily counts and samples against history (as `yuqing plan test`),
//!   and lint messages with positions.
//! - Case handling (`api/cases.rs`, docs/specs/case-workflow.md §8; every request needs
//!   a login or personal token, or a machine token and `X-Yuqing-User: <user id>`): `GET /api/v1/cases?state&unit&limit`,
//!   `POST /api/v1/cases` (register), `GET /api/v1/cases/{id}` (with timeline, deadlines,
//!   reminders, audit entries), `POST /api/v1/cases/{id}/actions`
//!   `{"expected_version", "kind": {"type": …}}` (stale version → 409),
//!   `GET|PUT /api/v1/org`, `GET|POST /api/v1/duty`, `DELETE /api/v1/duty/{id}`,
//!   `GET /api/v1/audit?after&limit`, `GET /api/v1/audit/verify?anchor`,
//!   `GET /api/v1/stats?from&to&as_of`, `GET /api/v1/stats/export.xlsx?from&to&as_of` (the
//!   same as an Excel workbook), `POST /api/v1/stats/adjustments` (a leader's 加减分),
//!   `POST /api/v1/stats/adjustments/{id}/revoke`.
//! - Evidence files (`api/evidence.rs`): `POST /api/v1/cases/{id}/attachments?name&kind&expected_version`
//!   (raw body), `GET /api/v1/cases/{id}/attachments/{sha256}` (a download, checked
//!   against its hash).
//! - Live updates (`api/live.rs`): `GET /api/v1/live`, server-sent events `counters`
//!   (every 3 s) and `alert` (each new alert).
//! - Alerts (`api/alerts.rs`, docs/specs/alerts.md §7): `GET /api/v1/alerts?unacked&since&event&limit`
//!   (the in-app inbox, newest first), `GET /api/v1/alerts/{id}` (with every delivery
//!   attempt and escalation notice), `POST /api/v1/alerts/{id}/ack` (token and
//!   `X-Yuqing-User`; the first acknowledgement stands and stops escalation),
//!   `POST /api/v1/alerts/{id}/verdict` (`{"verdict": "confirmed"|"false_alarm", "note"}`:
//!   a person's verdict, the last one stands, audited; it acknowledges too),
//!   `GET /api/v1/alerts/quality?since` (per plan: alerts, confirmed, false alarms).
//! - Page views (`api/settings.rs`, identity as for cases): `GET /api/v1/deadlines?state&limit`
//!   (every deadline of the viewer's open cases, for the 处置 board),
//!   `GET /api/v1/special-periods` (特殊时期 of the grading rules).
//! - Reports (`api/reports.rs`, issue 6): `GET|POST /api/v1/reports`,
//!   `GET /api/v1/reports/{id}`, `GET /api/v1/reports/{id}/export.{html|docx|xlsx|pdf|json}`,
//!   `PUT /api/v1/reports/{id}/commentary`, `POST /api/v1/reports/{id}/rebuild`.
//! - `GET /api/v1/groups/{id}` (a reprint group: members, distinct sites, first
//!   publisher), `GET /api/v1/sources`, `GET /api/v1/dead-letters`, `GET /healthz`,
//!   `GET /metrics`.

mod alerts;
mod cases;
mod dashboard;
mod event_members;
mod evidence;
mod judgement;
pub(crate) mod live;
mod plan_query;
mod plans_preview;
mod reports;
mod settings;
mod stats_export;

use crate::auth;
use crate::error::ApiError;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use yuqing_core::{Code, Document};
use yuqing_ingest::query;
use yuqing_ingest::runner::{Parsed, WriterHandle, prepare_items};
use yuqing_ingest::transforms::judge::Judge;
use yuqing_search::{SearchIndex, SearchRequest, Sort};
use yuqing_store::{HandlingStore, Store};

/// Everything handlers share.
pub struct AppState<S: Store> {
    pub store: Arc<S>,
    pub index: Arc<SearchIndex>,
    /// The pipeline writer; `None` on a read-only node.
    pub writer: Option<WriterHandle>,
    /// Accepted bearer tokens for pushing documents.
    pub push_tokens: Vec<String>,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The writer's judge: judgement settings for analyses; plans changed through the API
    /// are compiled into it at once.
    pub judge: Arc<Judge>,
    /// What the judgement routes keep between requests: `Default::default()`.
    pub judgement: judgement::JudgementState,
    /// The case workflow (org, duty, cases, audit, statistics); `None`: those routes
    /// answer 503.
    pub cases: Option<Arc<yuqing_handling::cases::Cases<S>>>,
    /// The alert settings, rules and channels of the config file, shown (without secrets)
    /// by `GET /api/v1/channels` and `GET /api/v1/alert-rules`; `None`: those answer 503.
    pub handling: Option<Arc<yuqing_handling::HandlingSettings>>,
    /// Logins, sessions and API tokens; `None`: only `push_tokens` identify (the login
    /// routes answer 503).
    pub access: Option<Arc<yuqing_handling::access::Access<S>>>,
    /// Mark the session cookie `Secure` (serve behind TLS).
    pub secure_cookies: bool,
    /// The report builders (`/api/v1/reports`); `None`: those routes answer 503.
    pub reports: Option<Arc<yuqing_handling::reports::Reports<S>>>,
    /// How reports are rendered (fonts, LibreOffice, links).
    pub report_options: yuqing_report::RenderOptions,
}

/// Largest push request body.
const MAX_PUSH_BYTES: usize = 64 << 20;
/// Most documents in one push.
const MAX_PUSH_DOCS: usize = 10_000;

pub fn router<S: Store + HandlingStore>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/", get(crate::assets::index))
        .route("/assets/{*path}", get(crate::assets::asset))
        .route("/api/openapi.json", get(crate::assets::openapi))
        .route("/healthz", get(health))
        .route("/metrics", get(metrics::<S>))
        .route(
            "/api/v1/documents",
            post(push::<S>).layer(DefaultBodyLimit::max(MAX_PUSH_BYTES)),
        )
        .route("/api/v1/documents/{platform}/{id}", get(get_document::<S>))
        .route(
            "/api/v1/documents/{platform}/{id}/corrections",
            post(judgement::correct::<S>),
        )
        .route("/api/v1/events", get(judgement::list_events::<S>))
        .route("/api/v1/events/{id}", get(judgement::get_event::<S>))
        .route("/api/v1/events/{id}/level", put(judgement::set_level::<S>))
        .route(
            "/api/v1/events/{id}/documents",
            get(event_members::documents::<S>),
        )
        .route("/api/v1/events/{id}/tree", get(event_members::tree::<S>))
        .route(
            "/api/v1/plans",
            get(judgement::list_plans::<S>).post(judgement::create_plan::<S>),
        )
        .route(
            "/api/v1/plans/{id}",
            patch(judgement::patch_plan::<S>).delete(judgement::delete_plan::<S>),
        )
        .route("/api/v1/plans/{id}/hits", get(judgement::plan_hits::<S>))
        .route("/api/v1/plans/preview", post(plans_preview::preview::<S>))
        .route("/api/v1/groups/{id}", get(get_group::<S>))
        .route("/api/v1/search", get(search::<S>))
        .route(
            "/api/v1/search/export.xlsx",
            get(dashboard::export_xlsx::<S>),
        )
        .route("/api/v1/dashboard", get(dashboard::dashboard::<S>))
        .route("/api/v1/count", get(count::<S>))
        .route("/api/v1/sources", get(sources::<S>))
        .route("/api/v1/dead-letters", get(dead_letters::<S>))
        .route(
            "/api/v1/cases",
            get(cases::list_cases::<S>).post(cases::create_case::<S>),
        )
        .route("/api/v1/cases/{id}", get(cases::get_case::<S>))
        .route("/api/v1/cases/{id}/actions", post(cases::act::<S>))
        .route(
            "/api/v1/org",
            get(cases::get_org::<S>).put(cases::put_org::<S>),
        )
        .route(
            "/api/v1/duty",
            get(cases::list_duty::<S>).post(cases::add_duty::<S>),
        )
        .route("/api/v1/duty/{id}", delete(cases::remove_duty::<S>))
        .route(
            "/api/v1/cases/{id}/attachments",
            post(evidence::upload::<S>)
                .layer(DefaultBodyLimit::max(yuqing_handling::evidence::MAX_BYTES)),
        )
        .route(
            "/api/v1/cases/{id}/attachments/{sha256}",
            get(evidence::download::<S>),
        )
        .route("/api/v1/alerts", get(alerts::list_alerts::<S>))
        .route("/api/v1/alerts/{id}", get(alerts::get_alert::<S>))
        .route("/api/v1/alerts/{id}/ack", post(alerts::ack_alert::<S>))
        .route(
            "/api/v1/alerts/{id}/verdict",
            post(alerts::set_verdict::<S>),
        )
        .route("/api/v1/alerts/quality", get(alerts::quality::<S>))
        .route(
            "/api/v1/reports",
            get(reports::list_reports::<S>).post(reports::create_report::<S>),
        )
        .route("/api/v1/reports/{id}", get(reports::get_report::<S>))
        .route(
            "/api/v1/reports/{id}/commentary",
            put(reports::put_commentary::<S>),
        )
        .route(
            "/api/v1/reports/{id}/rebuild",
            post(reports::rebuild_report::<S>),
        )
        .route(
            "/api/v1/reports/{id}/{file}",
            get(reports::export_report::<S>),
        )
        .route("/api/v1/audit", get(cases::audit_log::<S>))
        .route("/api/v1/audit/verify", get(cases::audit_verify::<S>))
        .route("/api/v1/stats", get(cases::stats::<S>))
        .route("/api/v1/stats/export.xlsx", get(stats_export::export::<S>))
        .route("/api/v1/stats/adjustments", post(cases::adjust_points::<S>))
        .route(
            "/api/v1/stats/adjustments/{id}/revoke",
            post(cases::revoke_adjustment::<S>),
        )
        .route("/api/v1/deadlines", get(settings::deadlines::<S>))
        .route(
            "/api/v1/special-periods",
            get(settings::special_periods::<S>),
        )
        .route("/api/v1/live", get(live::live::<S>))
        .route("/api/v1/channels", get(settings::channels::<S>))
        .route("/api/v1/alert-rules", get(settings::alert_rules::<S>))
        .route("/api/v1/login", post(auth::login::<S>))
        .route("/api/v1/logout", post(auth::logout::<S>))
        .route("/api/v1/me", get(auth::me::<S>))
        .route("/api/v1/password", post(auth::password::<S>))
        .route(
            "/api/v1/tokens",
            get(auth::list_tokens::<S>).post(auth::create_token::<S>),
        )
        .route("/api/v1/tokens/{id}", delete(auth::revoke_token::<S>))
        .route(
            "/api/v1/users/{id}/password-reset",
            post(auth::reset_password::<S>),
        )
        .layer(axum::middleware::from_fn(auth::csrf_guard))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_login::<S>,
        ))
        .with_state(state)
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn metrics<S: Store>(State(st): State<Arc<AppState<S>>>) -> Response {
    match &st.metrics {
        Some(h) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            h.render(),
        )
            .into_response(),
        None => ApiError::new(Code::Unavailable, "未启用指标", "metrics are not enabled")
            .into_response(),
    }
}

async fn push<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    auth::writer(&st, &headers).await?;
    let Some(writer) = &st.writer else {
        return Err(ApiError::new(
            Code::Unavailable,
            "此节点不接收数据（只读）",
            "this node does not accept documents (read-only)",
        ));
    };
    let text = std::str::from_utf8(&body).map_err(|e| {
        ApiError::invalid(
            format!("请求体不是有效的 UTF-8（第 {} 字节）", e.valid_up_to() + 1),
            format!("body is not valid UTF-8 at byte {}", e.valid_up_to() + 1),
        )
    })?;
    let trimmed = text.trim_start();
    // Parse each element separately so one bad document does not fail the others.
    // Each element separately, keeping the raw text of the bad ones for the dead letters.
    let mut parsed: Vec<Parsed> = Vec::new();
    if trimmed.starts_with('[') {
        let items: Vec<Value> = serde_json::from_str(trimmed).map_err(|e| {
            ApiError::invalid(
                format!("JSON 数组无效：{e}"),
                format!("invalid JSON array: {e}"),
            )
        })?;
        for (i, v) in items.into_iter().enumerate() {
            let raw = v.to_string();
            parsed.push((
                format!("[{i}]"),
                serde_json::from_value::<Document>(v)
                    .map_err(|e| (format!("文档无效 / invalid document: {e}"), raw)),
            ));
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            parsed.push((
                format!("line {}", i + 1),
                serde_json::from_str::<Document>(line)
                    .map_err(|e| (format!("JSON 无效 / invalid JSON: {e}"), line.to_owned())),
            ));
        }
    }
    if parsed.len() > MAX_PUSH_DOCS {
        return Err(ApiError::invalid(
            format!(
                "一次最多推送 {MAX_PUSH_DOCS} 条，收到 {} 条；请分批",
                parsed.len()
            ),
            format!(
                "at most {MAX_PUSH_DOCS} documents per request, got {}: split the batch",
                parsed.len()
            ),
        ));
    }
    let parsed = parsed
        .into_iter()
        .map(|(loc, r)| {
            let r = r.map(|mut d| {
                if d.source.is_none() {
                    d.source = Some("push".into());
                }
                d
            });
            (loc, r)
        })
        .collect();
    let all = prepare_items(parsed, &writer.preparer()).await;
    let (report, outcomes) = writer.submit("push", all, None).await.map_err(|e| {
        ApiError::new(
            Code::Unavailable,
            format!("存储失败：{e}"),
            format!("storing failed: {e}"),
        )
    })?;
    Ok(Json(json!({ "summary": report, "results": outcomes })))
}

async fn get_document<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    Path((platform, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    match st.store.get(&platform, &id).await? {
        Some(d) => {
            let mut v = serde_json::to_value(&d).unwrap_or(Value::Null);
            v["judgement"] = judgement::judgement_of(st.store.as_ref(), &d).await?;
            Ok(Json(v))
        }
        None => Err(ApiError::new(
            Code::NotFound,
            format!("没有文档 {platform}:{id}"),
            format!("no document {platform}:{id}"),
        )),
    }
}

/// A reprint group (相似文章合并): members, distinct sites and the first publisher.
async fn get_group<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let Some(g) = st.store.group_stats(id).await? else {
        return Err(ApiError::new(
            Code::NotFound,
            format!("没有相似组 {id}"),
            format!("no reprint group {id}"),
        ));
    };
    let first = st.store.by_seqs(&[g.first_seq]).await?.into_iter().next();
    Ok(Json(json!({ "group": g, "first_publisher": first })))
}

/// Query parameters of search and count.
#[derive(Debug, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
    platform: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    verified: Option<bool>,
    sort: Option<Sort>,
    limit: Option<usize>,
    offset: Option<usize>,
    /// Store filters (`api/dashboard.rs`): sentiment, event level, plan, region.
    sentiment: Option<String>,
    level: Option<String>,
    plan: Option<String>,
    region: Option<String>,
}

fn to_request(p: SearchParams) -> Result<SearchRequest, ApiError> {
    let time = |name: &str, v: &Option<String>| -> Result<Option<i64>, ApiError> {
        v.as_deref()
            .map(|s| {
                yuqing_core::document::parse_time_str(s, yuqing_core::document::beijing())
                    .map(|t| t.timestamp_millis())
                    .map_err(|e| {
                        ApiError::from_display(Code::InvalidInput, &format!("{name}: {e}"))
                    })
            })
            .transpose()
    };
    let split = |v: Option<String>| {
        v.map(|s| {
            s.split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
    };
    let mut r = SearchRequest {
        since_ms: time("since", &p.since)?,
        until_ms: time("until", &p.until)?,
        query: p.q,
        platforms: split(p.platform),
        kinds: split(p.kind),
        verified: p.verified,
        sort: p.sort.unwrap_or_default(),
        limit: p.limit.unwrap_or(20).clamp(1, 1000),
        offset: p.offset.unwrap_or(0).min(100_000),
    };
    query::normalize_request(&mut r);
    Ok(r)
}

async fn search<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    Query(p): Query<SearchParams>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(dashboard::search_json(&st, p).await?))
}

async fn count<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    Query(p): Query<SearchParams>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(dashboard::count_filtered(&st, p).await?))
}

async fn sources<S: Store>(State(st): State<Arc<AppState<S>>>) -> Result<Json<Value>, ApiError> {
    let now = Utc::now();
    let h = st.store.source_health().await?;
    let items: Vec<Value> = h
        .iter()
        .map(|h| json!({"health": h, "lag_seconds": h.lag_seconds(now)}))
        .collect();
    Ok(Json(json!({ "sources": items })))
}

async fn dead_letters<S: Store>(
    State(st): State<Arc<AppState<S>>>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "dead_letters": st.store.dead_letters(100).await? }),
    ))
}
