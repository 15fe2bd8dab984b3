//! The judgement routes (研判): events and their analysis, levels set by a person,
//! monitoring plans and their hits, corrections, and the `judgement` part of a document.
//! Mirrors the CLI (`yuqing events|event|level|correct|plan …`): same validation, same
//! messages. Every write needs a bearer token (the push tokens).
//!
//! Plan changes made here are compiled into the writer's judge at once, so documents
//! pushed after the response are matched against them (the writer also reloads plans by
//! itself, but only when a batch arrives, after that batch was judged).

use super::AppState;
use crate::auth;
use crate::error::{ApiError, status};
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use yuqing_core::{Assessment, Code, StoredDocument};
use yuqing_ingest::analysis::{self, AnalysisError, EventSummary};
use yuqing_judge::content::{Categories, ContentType};
use yuqing_judge::grading::Level;
use yuqing_judge::hotwords::Background;
use yuqing_judge::spike::detect;
use yuqing_store::{EventQuery, Fix, NewPlan, Store, StoredPlan};
use yuqing_text::plan::{Plan, PlanError, PlanSet, StructuredPlan, lint};
use yuqing_text::sentiment::Label;

/// How long the hot-word background of event analyses is reused.
const BACKGROUND_TTL: Duration = Duration::from_secs(600);
/// Default and largest page of `GET /api/v1/events`.
const EVENTS_PAGE: i64 = 50;
const EVENTS_MAX: i64 = 1000;
/// Default and largest page of plan hits.
const HITS_PAGE: i64 = 20;
const HITS_MAX: i64 = 500;

/// What the judgement routes keep between requests. Build it with `Default::default()`.
#[derive(Default)]
pub struct JudgementState {
    /// The hot-word background (a sample of stored texts) and when it was computed.
    background: tokio::sync::Mutex<Option<(Instant, Arc<Background>)>>,
    /// Serialises plan writes with their compilation into the judge, so that the last
    /// plan set given to the judge is the one of the last write.
    plans: tokio::sync::Mutex<()>,
}

// ---- request helpers ----

fn bad_query(e: QueryRejection) -> ApiError {
    let detail = e.body_text();
    ApiError::invalid(
        format!("查询参数有误：{detail}"),
        format!("invalid query parameters: {detail}"),
    )
}

/// A numeric id from the path.
fn path_id(p: Result<Path<i64>, PathRejection>, what: (&str, &str)) -> Result<i64, ApiError> {
    p.map(|Path(id)| id).map_err(|e| {
        let detail = e.body_text();
        ApiError::invalid(
            format!("{}编号应为整数：{detail}", what.0),
            format!("the {} id must be an integer: {detail}", what.1),
        )
    })
}

/// A JSON request body; unknown fields are refused so that typos do not pass silently.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid(
            format!("请求体 JSON 无效：{e}"),
            format!("invalid JSON body: {e}"),
        )
    })
}

fn required(value: &str, zh: &str, en: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(zh, en));
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn parse_level(s: &str) -> Result<Level, ApiError> {
    Level::parse(s).ok_or_else(|| {
        ApiError::invalid(
            format!("未知的级别 {s}：可用 general|large|major|especially_major（一般|较大|重大|特别重大）"),
            format!("unknown level {s}: use general|large|major|especially_major"),
        )
    })
}

fn no_event(id: i64) -> ApiError {
    ApiError::new(
        Code::NotFound,
        format!("没有编号为 {id} 的事件"),
        format!("no event with id {id}"),
    )
}

fn no_plan(id: i64) -> ApiError {
    ApiError::new(
        Code::NotFound,
        format!("没有编号为 {id} 的监测方案"),
        format!("no plan with id {id}"),
    )
}

fn no_document(platform: &str, id: &str) -> ApiError {
    ApiError::new(
        Code::NotFound,
        format!("没有文档 {platform}:{id}"),
        format!("no document {platform}:{id}"),
    )
}

/// Runs `f` on a blocking thread with the runtime's handle, so CPU-heavy work (and the
/// `block_in_place` inside the analysis) never holds an async worker.
async fn off_workers<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&tokio::runtime::Handle) -> T + Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || f(&handle))
        .await
        .map_err(|e| ApiError::from_display(Code::Internal, &e))
}

// ---- events ----

/// Query parameters of `GET /api/v1/events`.
#[derive(Debug, Deserialize)]
pub struct EventsParams {
    limit: Option<i64>,
    offset: Option<i64>,
    /// `general|large|major|especially_major` or the Chinese label.
    min_level: Option<String>,
    min_documents: Option<i64>,
}

/// `GET /api/v1/events`: events, most serious first.
pub async fn list_events<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    q: Result<Query<EventsParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = q.map_err(bad_query)?;
    let min_level = p
        .min_level
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(parse_level)
        .transpose()?;
    let rows = st
        .store
        .events(&EventQuery {
            min_level: min_level.map(Level::code),
            min_documents: p.min_documents,
            limit: p.limit.unwrap_or(EVENTS_PAGE).clamp(1, EVENTS_MAX),
            offset: p.offset.unwrap_or(0).clamp(0, 1_000_000),
            ..Default::default()
        })
        .await?;
    let events: Vec<EventSummary> = rows.iter().map(EventSummary::of).collect();
    Ok(Json(json!({ "events": events })))
}

/// The hot-word background, computed at most every [`BACKGROUND_TTL`] (concurrent
/// requests wait for one computation).
async fn background<S: Store>(st: &AppState<S>) -> Result<Arc<Background>, ApiError> {
    let mut cached = st.judgement.background.lock().await;
    if let Some((at, bg)) = cached.as_ref()
        && at.elapsed() < BACKGROUND_TTL
    {
        return Ok(bg.clone());
    }
    let store = st.store.clone();
    let bg = off_workers(move |h| h.block_on(analysis::background(store.as_ref()))).await??;
    let bg = Arc::new(bg);
    *cached = Some((Instant::now(), bg.clone()));
    Ok(bg)
}

/// `GET /api/v1/events/{id}`: the full analysis (docs/specs/events.md).
pub async fn get_event<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id, ("事件", "event"))?;
    // Unknown ids are answered before the background is computed.
    if st.store.events_by_id(&[id]).await?.is_empty() {
        return Err(no_event(id));
    }
    let bg = background(&st).await?;
    let (store, judge) = (st.store.clone(), st.judge.clone());
    let analysed =
        off_workers(move |h| h.block_on(analysis::analyse(store.as_ref(), &judge, &bg, id)))
            .await?;
    match analysed {
        Ok(a) => Ok(Json(to_json(&a))),
        Err(AnalysisError::NotFound(id)) => Err(no_event(id)),
        Err(AnalysisError::Store(e)) => Err(e.into()),
    }
}

/// Body of `PUT /api/v1/events/{id}/level`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelBody {
    #[serde(default)]
    level: String,
    #[serde(default)]
    by: String,
    #[serde(default)]
    reason: String,
}

/// `PUT /api/v1/events/{id}/level`: a person sets the level (recorded with who and why).
pub async fn set_level<S: Store + yuqing_store::HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let who = auth::writer(&st, &headers).await?;
    let id = path_id(id, ("事件", "event"))?;
    let mut b: LevelBody = parse_body(&body)?;
    // A person logged in is who sets it; a machine client says who.
    if !who.is_machine() {
        b.by = who.actor(None);
    }
    required(
        &b.level,
        "缺少级别（level）：可用 general|large|major|especially_major（一般|较大|重大|特别重大）",
        "missing level: use general|large|major|especially_major",
    )?;
    let level = parse_level(&b.level)?;
    required(&b.by, "请写明定级人（by）", "say who sets the level (by)")?;
    required(
        &b.reason,
        "人工定级须写明理由（reason）",
        "a level set by hand needs a reason (reason)",
    )?;
    let (by, reason) = (b.by.trim(), b.reason.trim());
    // A merged event's level is set on the event it went into (the one its page shows).
    let id = match analysis::live_event(st.store.as_ref(), id).await {
        Ok(e) => e.id,
        Err(AnalysisError::NotFound(id)) => return Err(no_event(id)),
        Err(AnalysisError::Store(e)) => return Err(e.into()),
    };
    st.store
        .set_level(
            id,
            &yuqing_ingest::analysis::manual_level(level, by, reason, Utc::now()),
        )
        .await?;
    let row = st.store.events_by_id(&[id]).await?;
    let e = row.first().ok_or_else(|| no_event(id))?;
    Ok(Json(to_json(&EventSummary::of(e))))
}

// ---- plans ----

/// Compiles the active plans into the writer's judge (as the writer's own reload does).
async fn apply_plans<S: Store>(st: &AppState<S>) -> Result<(), ApiError> {
    let mut compiled = Vec::new();
    for p in st.store.plans().await? {
        if !p.active {
            continue;
        }
        match Plan::parse(&p.expression) {
            Ok(plan) => compiled.push((p.id, plan)),
            Err(e) => tracing::error!(plan = %p.name, error = %e, "plan does not parse; skipped"),
        }
    }
    st.judge.set_plans(PlanSet::new(compiled));
    Ok(())
}

/// `GET /api/v1/plans`: every plan with its hit count and its spike (the last
/// `window_hours` against the `baseline_hours` before, as `[judgement.spike]` says).
pub async fn list_plans<S: Store>(
    State(st): State<Arc<AppState<S>>>,
) -> Result<Json<Value>, ApiError> {
    let settings = &st.judge.settings().spike;
    let now_hour = Utc::now().timestamp().div_euclid(3600);
    let since_hour = now_hour - i64::from(settings.window_hours.max(1)) + 1
        - i64::from(settings.baseline_hours.max(1));
    let mut plans = Vec::new();
    for p in st.store.plans().await? {
        let hits = st.store.plan_hit_count(p.id).await?;
        let hourly = st.store.plan_hourly(p.id, since_hour * 3_600_000).await?;
        let mut v = to_json(&p);
        v["hits"] = json!(hits);
        v["spike"] = to_json(&detect(&hourly, now_hour, settings));
        plans.push(v);
    }
    Ok(Json(json!({ "plans": plans })))
}

fn yes() -> bool {
    true
}

/// Body of `POST /api/v1/plans`: an expression or the structured words, not both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    #[serde(default)]
    name: String,
    expression: Option<String>,
    #[serde(default)]
    region: Vec<String>,
    #[serde(default)]
    subject: Vec<String>,
    #[serde(default)]
    event: Vec<String>,
    #[serde(default)]
    exclusion: Vec<String>,
    #[serde(default = "yes")]
    active: bool,
    by: Option<String>,
}

/// The body of a 400 for an expression that does not parse: the standard error fields
/// plus where (`ApiError::plan`, also used by search).
pub(super) fn plan_error_body(e: &PlanError) -> Value {
    let r = ApiError::plan(e);
    let mut v = json!({
        "message": r.zh,
        "message_en": r.en,
        "code": Code::InvalidInput.as_str(),
        "type": "invalid_request",
        "link": format!("/docs/errors#{}", Code::InvalidInput.as_str()),
    });
    if let (Some(extra), Some(obj)) = (r.extra, v.as_object_mut()) {
        obj.extend(*extra);
    }
    v
}

/// 400 for an expression that does not parse.
fn plan_error(e: &PlanError) -> Response {
    (status(Code::InvalidInput), Json(plan_error_body(e))).into_response()
}

/// `POST /api/v1/plans`: creates a plan, or replaces the one with the same name.
pub async fn create_plan<S: Store + yuqing_store::HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), Response> {
    let fail = IntoResponse::into_response;
    let who = auth::writer(&st, &headers).await.map_err(fail)?;
    let b: PlanBody = parse_body(&body).map_err(fail)?;
    let structured = StructuredPlan {
        region: b.region,
        subject: b.subject,
        event: b.event,
        exclusion: b.exclusion,
    };
    let (expression, structured) = match (b.expression, structured == StructuredPlan::default()) {
        (Some(_), false) => {
            return Err(fail(ApiError::invalid(
                "表达式（expression）与结构化词（region/subject/event/exclusion）只能二选一",
                "give either an expression or the structured words (region/subject/event/exclusion), not both",
            )));
        }
        (None, true) => {
            return Err(fail(ApiError::invalid(
                "缺少表达式（expression）或结构化词（region/subject/event/exclusion）",
                "give an expression or the structured words (region/subject/event/exclusion)",
            )));
        }
        (Some(e), true) => (e, None),
        (None, false) => (structured.to_expression(), Some(to_json(&structured))),
    };
    required(
        &b.name,
        "方案名称不能为空（name）",
        "the plan needs a name (name)",
    )
    .map_err(fail)?;
    if let Err(e) = Plan::parse(&expression) {
        return Err(plan_error(&e));
    }
    let lint = lint(&expression);
    let _guard = st.judgement.plans.lock().await;
    let existed = st
        .store
        .plans()
        .await
        .map_err(|e| fail(e.into()))?
        .iter()
        .any(|p| p.name == b.name);
    let plan = st
        .store
        .put_plan(&NewPlan {
            name: b.name,
            expression,
            structured,
            active: b.active,
            origin: "api".into(),
            by: Some(who.actor(b.by.as_deref())),
        })
        .await
        .map_err(|e| fail(e.into()))?;
    apply_plans(&st).await.map_err(fail)?;
    let code = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        code,
        Json(json!({ "plan": plan, "created": !existed, "lint": lint })),
    ))
}

async fn find_plan<S: Store>(st: &AppState<S>, id: i64) -> Result<Option<StoredPlan>, ApiError> {
    Ok(st.store.plans().await?.into_iter().find(|p| p.id == id))
}

/// Body of `PATCH /api/v1/plans/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanPatch {
    active: Option<bool>,
    by: Option<String>,
}

/// `PATCH /api/v1/plans/{id}`: switches a plan on or off.
pub async fn patch_plan<S: Store + yuqing_store::HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let who = auth::writer(&st, &headers).await?;
    let id = path_id(id, ("方案", "plan"))?;
    let b: PlanPatch = parse_body(&body)?;
    let Some(active) = b.active else {
        return Err(ApiError::invalid(
            "请给出 active（true 启用，false 停用）",
            "give active (true to enable, false to disable)",
        ));
    };
    let by = who.actor(b.by.as_deref());
    let _guard = st.judgement.plans.lock().await;
    if !st.store.set_plan_active(id, active, Some(&by)).await? {
        return Err(no_plan(id));
    }
    apply_plans(&st).await?;
    let plan = find_plan(&st, id).await?.ok_or_else(|| no_plan(id))?;
    Ok(Json(json!({ "plan": plan })))
}

/// `DELETE /api/v1/plans/{id}`: deletes a plan (its past hits are kept).
pub async fn delete_plan<S: Store + yuqing_store::HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    auth::writer(&st, &headers).await?;
    let id = path_id(id, ("方案", "plan"))?;
    let _guard = st.judgement.plans.lock().await;
    if !st.store.delete_plan(id).await? {
        return Err(no_plan(id));
    }
    apply_plans(&st).await?;
    Ok(Json(json!({ "deleted": id })))
}

/// Query parameters of `GET /api/v1/plans/{id}/hits`.
#[derive(Debug, Deserialize)]
pub struct HitsParams {
    limit: Option<i64>,
    /// Only hits with a seq below this (the `next_before` of the previous page).
    before: Option<i64>,
}

/// `GET /api/v1/plans/{id}/hits`: the documents a plan hit, newest first, paged by seq.
pub async fn plan_hits<S: Store>(
    State(st): State<Arc<AppState<S>>>,
    id: Result<Path<i64>, PathRejection>,
    q: Result<Query<HitsParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id, ("方案", "plan"))?;
    let Query(p) = q.map_err(bad_query)?;
    let count = st.store.plan_hit_count(id).await?;
    // A deleted plan's hits are kept and stay readable; an id never used is unknown.
    if count == 0 && find_plan(&st, id).await?.is_none() {
        return Err(no_plan(id));
    }
    let limit = p.limit.unwrap_or(HITS_PAGE).clamp(1, HITS_MAX);
    let before = p.before.unwrap_or(i64::MAX);
    let docs = st.store.plan_hit_docs(id, before, limit).await?;
    let next_before = (docs.len() as i64 == limit)
        .then(|| docs.last().map(|(d, _)| d.seq))
        .flatten();
    let hits: Vec<Value> = docs
        .into_iter()
        .map(|(d, terms)| {
            json!({
                "seq": d.seq,
                "id": d.doc.id,
                "platform": d.doc.platform,
                "published_at": d.doc.published_at,
                "title": d.doc.title,
                "text": d.doc.text,
                "terms": terms,
            })
        })
        .collect();
    Ok(Json(
        json!({ "count": count, "hits": hits, "next_before": next_before }),
    ))
}

// ---- corrections and a document's judgement ----

/// Body of `POST /api/v1/documents/{platform}/{id}/corrections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionBody {
    sentiment: Option<String>,
    content_type: Option<String>,
    #[serde(default)]
    by: String,
    note: Option<String>,
}

/// `POST /api/v1/documents/{platform}/{id}/corrections`: a person corrects the sentiment
/// and/or content type; the correction wins from now on.
pub async fn correct<S: Store + yuqing_store::HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path((platform, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let who = auth::writer(&st, &headers).await?;
    let mut b: CorrectionBody = parse_body(&body)?;
    if !who.is_machine() {
        b.by = who.actor(None);
    }
    let mut fixes = Vec::new();
    if let Some(s) = b.sentiment.as_deref() {
        let v = match s.trim() {
            "positive" | "正面" => 1,
            "neutral" | "中性" => 0,
            "negative" | "负面" => -1,
            _ => {
                return Err(ApiError::invalid(
                    format!("情感须为 positive|neutral|negative（正面|中性|负面），不是 {s}"),
                    format!("sentiment must be positive|neutral|negative, not {s}"),
                ));
            }
        };
        fixes.push(Fix::Sentiment(v));
    }
    if let Some(t) = b.content_type.as_deref() {
        let Some(ct) = ContentType::parse(t) else {
            return Err(ApiError::invalid(
                format!("内容类型须为 behaviour|complaint|view|attitude|none，不是 {t}"),
                format!("content type must be behaviour|complaint|view|attitude|none, not {t}"),
            ));
        };
        fixes.push(Fix::ContentType(ct.code()));
    }
    if fixes.is_empty() {
        return Err(ApiError::invalid(
            "请给出 sentiment 或 content_type",
            "give sentiment or content_type",
        ));
    }
    required(&b.by, "请写明更正人（by）", "say who corrects it (by)")?;
    let by = b.by.trim();
    let note = b.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let Some(doc) = st.store.get(&platform, &id).await? else {
        return Err(no_document(&platform, &id));
    };
    let mut corrections = Vec::new();
    for f in fixes {
        let c = st
            .store
            .correct(doc.seq, f, by, note)
            .await?
            .ok_or_else(|| no_document(&platform, &id))?;
        corrections.push(c);
    }
    let judgement = match st.store.get(&platform, &id).await? {
        Some(d) => judgement_of(st.store.as_ref(), &d).await?,
        None => Value::Null,
    };
    Ok(Json(
        json!({ "corrections": corrections, "judgement": judgement }),
    ))
}

/// The `judgement` of a document: labels for the stored codes, which fields a person
/// corrected, its event and the plans it hit (with the terms that matched).
pub async fn judgement_of<S: Store>(store: &S, d: &StoredDocument) -> Result<Value, ApiError> {
    let a = &d.assessment;
    let sentiment = a.sentiment.and_then(|s| match s {
        1 => Some(Label::Positive),
        0 => Some(Label::Neutral),
        -1 => Some(Label::Negative),
        _ => None,
    });
    let content_type = a.content_type.and_then(ContentType::from_code);
    let categories: Vec<_> = Categories::from_bits(a.categories).iter().collect();
    let hits = store
        .plan_hits_of(&[d.seq])
        .await?
        .remove(&d.seq)
        .unwrap_or_default();
    let names: HashMap<i64, String> = if hits.is_empty() {
        HashMap::new()
    } else {
        store
            .plans()
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect()
    };
    let plan_hits: Vec<Value> = hits
        .into_iter()
        .map(|(plan_id, terms)| {
            json!({ "plan_id": plan_id, "name": names.get(&plan_id), "terms": terms })
        })
        .collect();
    Ok(json!({
        "sentiment": sentiment.map(Label::as_str),
        "sentiment_label": sentiment.map(Label::as_zh),
        // The model's P(positive), rounded (f32 noise is not information).
        "sentiment_score": a.sentiment_score.map(|s| (f64::from(s) * 10_000.0).round() / 10_000.0),
        "content_type": content_type.map(ContentType::as_str),
        "content_type_label": content_type.map(ContentType::label_zh),
        "categories": categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "category_labels": categories.iter().map(|c| c.label_zh()).collect::<Vec<_>>(),
        "corrected": {
            "sentiment": a.corrected & Assessment::SENTIMENT != 0,
            "content_type": a.corrected & Assessment::CONTENT_TYPE != 0,
        },
        "event_id": d.event_id,
        "plan_hits": plan_hits,
    }))
}
