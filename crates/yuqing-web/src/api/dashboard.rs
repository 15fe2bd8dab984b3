//! The dashboard (总览 and the 大屏 mode), the search filters the full-text index does not
//! hold, and the export of a search to Excel.
//!
//! - `GET /api/v1/dashboard?range=today|week&at=`: everything the dashboard shows, in one
//!   answer. `today` is the Beijing calendar day up to `at` (default: now), compared with
//!   the same hours of the day before; `week` is the last seven Beijing days up to `at`,
//!   compared with the seven days before. Volumes are by publication time. The aggregates
//!   (hourly volume, sentiment, platforms, hot words over the newest
//!   [`HOT_WORD_SAMPLE`] texts, top events) are cached for [`CACHE_TTL`] per range and
//!   `at`, and computed by one request at a time; latest alerts, overdue cases (within the
//!   viewer's scope) and source health are read on every request.
//! - `GET /api/v1/search` (and `count`) accept, besides the index's filters,
//!   `sentiment=negative,neutral` (or `-1,0,1`), `level=major` (the document's event has at
//!   least this level; name or code 1–4), `plan=<plan id>` (the plan hit it) and
//!   `region=广东` (the author's location starts with it). Those are applied with
//!   `Store::filter_seqs` to every candidate of the index lookup (exact totals), at most
//!   [`MAX_CANDIDATES`] of the newest candidates (`capped: true` says the total is then a
//!   lower bound); filtered hits are ordered by time (newest first, or oldest with
//!   `sort=time_asc`), not by relevance. Every hit carries its `sentiment`, `corrected`
//!   and its event's `event_level`.
//! - `q` may be a plan expression (`api/plan_query.rs`); a plain word stays a substring
//!   search.
//! - `GET /api/v1/search/export.xlsx?<the parameters of search>`: the first
//!   [`EXPORT_MAX`] hits as an Excel sheet (时间, 平台, 作者, 标题/正文, 链接, 情感, 事件, 级别).
//!
//! All three need an identity (a login session, a personal API token, or a machine token)
//! whose password need not change: `auth::resolve` and `auth::require_changed`.

use super::{AppState, SearchParams, to_request};
use crate::auth;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use yuqing_core::{Code, StoredDocument};
use yuqing_handling::cases::{CaseFilter, Principal};
use yuqing_ingest::analysis::{self, EventSummary};
use yuqing_ingest::query::{self, SearchHit, Snippet};
use yuqing_judge::grading::Level;
use yuqing_judge::hotwords::{Background, hot_words};
use yuqing_search::{SearchError, SearchRequest, Sort};
use yuqing_store::handling::AlertQuery;
use yuqing_store::{DocFilter, EventQuery, HandlingStore, Store};
use yuqing_workflow::case::CaseState;
use yuqing_workflow::deadlines::{DeadlineStatus, deadlines_for};

/// Texts the hot words of a period are computed on (the newest of the period).
pub const HOT_WORD_SAMPLE: i64 = 5_000;
/// Hot words in the answer.
const HOT_WORDS: usize = 60;
/// Top events in the answer.
const TOP_EVENTS: i64 = 10;
/// Latest alerts in the answer.
const LATEST_ALERTS: i64 = 10;
/// How long computed aggregates are reused.
pub const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// How long the hot-word background (a sample of the whole store) is reused.
const BACKGROUND_TTL: std::time::Duration = std::time::Duration::from_secs(600);
/// Most index candidates the store filters are applied to.
pub const MAX_CANDIDATES: usize = 200_000;
/// Most rows of an export.
pub const EXPORT_MAX: usize = 10_000;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn beijing() -> FixedOffset {
    yuqing_core::document::beijing()
}

fn bj(ms: i64) -> Value {
    match beijing().timestamp_millis_opt(ms).single() {
        Some(t) => json!(t.to_rfc3339()),
        None => Value::Null,
    }
}

/// Who may read: any identity whose password need not change.
async fn reader<S: Store + HandlingStore>(
    st: &AppState<S>,
    headers: &HeaderMap,
) -> Result<auth::Identity, ApiError> {
    let id = auth::resolve(st, headers).await?;
    auth::require_changed(&id)?;
    Ok(id)
}

// ---- dashboard ----

#[derive(Debug, Deserialize)]
pub struct DashboardParams {
    range: Option<String>,
    /// The end of the period (RFC 3339 or YYYY-MM-DD, Beijing time); default now.
    at: Option<String>,
}

/// The period of a range ending at `at`: `[since, until)` and the period before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Period {
    since: i64,
    until: i64,
    prev_since: i64,
    prev_until: i64,
}

fn period(range: &str, at_ms: i64) -> Period {
    let off = i64::from(beijing().local_minus_utc()) * 1000;
    let day_start = (at_ms + off).div_euclid(DAY_MS) * DAY_MS - off;
    let (since, shift) = if range == "week" {
        (day_start - 6 * DAY_MS, 7 * DAY_MS)
    } else {
        (day_start, DAY_MS)
    };
    Period {
        since,
        until: at_ms,
        prev_since: since - shift,
        prev_until: at_ms - shift,
    }
}

type CacheKey = (usize, String, Option<i64>);
type Cache = Mutex<HashMap<CacheKey, (Instant, Arc<Value>)>>;
type BackgroundCache = tokio::sync::Mutex<HashMap<usize, (Instant, Arc<Background>)>>;

fn cache() -> &'static Cache {
    static C: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    C.get_or_init(Default::default)
}

/// One computation of the aggregates at a time (the others wait and take its result).
static COMPUTE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn background_cache() -> &'static BackgroundCache {
    static B: std::sync::OnceLock<BackgroundCache> = std::sync::OnceLock::new();
    B.get_or_init(Default::default)
}

/// Runs blocking or CPU-heavy work off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::new(
            Code::Internal,
            format!("内部错误：{e}"),
            format!("internal error: {e}"),
        )
    })
}

async fn background<S: Store>(st: &AppState<S>, key: usize) -> Result<Arc<Background>, ApiError> {
    let mut cached = background_cache().lock().await;
    if let Some((at, bg)) = cached.get(&key)
        && at.elapsed() < BACKGROUND_TTL
    {
        return Ok(bg.clone());
    }
    let store = st.store.clone();
    let handle = tokio::runtime::Handle::current();
    let bg = blocking(move || handle.block_on(analysis::background(store.as_ref()))).await??;
    let bg = Arc::new(bg);
    cached.insert(key, (Instant::now(), bg.clone()));
    Ok(bg)
}

/// The aggregates of a period (cached).
async fn aggregates<S: Store>(
    st: &AppState<S>,
    range: &str,
    at: Option<i64>,
) -> Result<Arc<Value>, ApiError> {
    let store_key = Arc::as_ptr(&st.store) as *const () as usize;
    let key: CacheKey = (store_key, range.to_owned(), at);
    let fresh = |k: &CacheKey| {
        cache().lock().ok().and_then(|c| {
            c.get(k)
                .filter(|(t, _)| t.elapsed() < CACHE_TTL)
                .map(|x| x.1.clone())
        })
    };
    if let Some(v) = fresh(&key) {
        return Ok(v);
    }
    let _one = COMPUTE.lock().await;
    if let Some(v) = fresh(&key) {
        return Ok(v);
    }
    let started = Instant::now();
    let at_ms = at.unwrap_or_else(|| Utc::now().timestamp_millis());
    let p = period(range, at_ms);
    let s = st.store.as_ref();
    let top = EventQuery {
        active_since: Some(p.since),
        limit: TOP_EVENTS,
        ..Default::default()
    };
    let (hours, prev_hours, sentiment, platforms, texts, events, latest) = tokio::try_join!(
        s.volume_by_hour(p.since, p.until),
        s.volume_by_hour(p.prev_since, p.prev_until),
        s.sentiment_counts(p.since, p.until),
        s.platform_counts(p.since, p.until),
        s.recent_texts(p.since, p.until, HOT_WORD_SAMPLE),
        s.events(&top),
        s.latest_published(),
    )?;
    // Every hour of the period, with the same hour of the period before.
    let first_hour = p.since.div_euclid(HOUR_MS);
    let last_hour = (p.until - 1).div_euclid(HOUR_MS);
    let now_counts: HashMap<i64, u64> = hours.into_iter().collect();
    let shift = (p.since - p.prev_since) / HOUR_MS;
    let prev_counts: HashMap<i64, u64> = prev_hours
        .into_iter()
        .map(|(h, n)| (h + shift, n))
        .collect();
    let series: Vec<Value> = (first_hour..=last_hour.max(first_hour))
        .map(|h| {
            json!({
                "hour": bj(h * HOUR_MS),
                "count": now_counts.get(&h).copied().unwrap_or(0),
                "previous": prev_counts.get(&h).copied().unwrap_or(0),
            })
        })
        .collect();
    let total: u64 = now_counts.values().sum();
    let previous_total: u64 = prev_counts.values().sum();
    let sample = texts.len();
    let bg = background(st, store_key).await?;
    let words = blocking(move || {
        let norm: Vec<String> = texts.iter().map(|t| yuqing_text::normalize(t)).collect();
        hot_words(norm.iter().map(String::as_str), &bg, HOT_WORDS)
    })
    .await?;
    let events: Vec<EventSummary> = events
        .iter()
        .filter(|e| e.documents > 0)
        .map(EventSummary::of)
        .collect();
    let v = json!({
        "range": range,
        "at": bj(at_ms),
        "since": bj(p.since),
        "until": bj(p.until),
        "previous": { "since": bj(p.prev_since), "until": bj(p.prev_until) },
        "latest_published_at": latest.map(bj),
        "total": total,
        "previous_total": previous_total,
        "hours": series,
        "sentiment": sentiment,
        "platforms": platforms.iter().map(|(p, n)| json!({"platform": p, "count": n})).collect::<Vec<_>>(),
        "hot_words": words,
        "hot_words_sample": sample,
        "events": events,
        "computed_at": Utc::now().with_timezone(&beijing()).to_rfc3339(),
        "computed_ms": started.elapsed().as_millis() as u64,
    });
    let v = Arc::new(v);
    if let Ok(mut c) = cache().lock() {
        c.retain(|_, (t, _)| t.elapsed() < CACHE_TTL);
        c.insert(key, (Instant::now(), v.clone()));
    }
    Ok(v)
}

/// Open cases the user may see with a deadline past due and unmet, most overdue first.
async fn overdue_cases<S: Store + HandlingStore>(
    st: &AppState<S>,
    user: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let (Some(svc), Some(user)) = (&st.cases, user) else {
        return Ok(Vec::new());
    };
    let open: Vec<CaseState> = CaseState::ALL.into_iter().filter(|s| s.is_open()).collect();
    let filter = CaseFilter {
        states: open,
        unit: None,
        limit: 0,
    };
    let cases = match svc.list(&Principal::User(user.to_owned()), &filter).await {
        Ok(c) => c,
        // A user the organisation does not know sees no cases.
        Err(e) if matches!(e.code(), Code::Forbidden | Code::NotFound) => return Ok(Vec::new()),
        Err(e) => return Err(ApiError::from_display(e.code(), &e)),
    };
    let now = svc.now();
    let mut out: Vec<(DateTime<Utc>, Value)> = Vec::new();
    for c in &cases {
        let due = deadlines_for(c, svc.rules())
            .into_iter()
            .filter(|d| d.status(now) == DeadlineStatus::Overdue)
            .min_by_key(|d| d.due_at);
        if let Some(d) = due {
            out.push((
                d.due_at,
                json!({
                    "id": c.id,
                    "title": c.title,
                    "unit": c.unit,
                    "state": c.state.as_str(),
                    "state_label": c.state.label_zh(),
                    "deadline": d.what.as_str(),
                    "deadline_label": d.what.label_zh(),
                    "due_at": d.due_at.with_timezone(&beijing()).to_rfc3339(),
                    "overdue_minutes": (now - d.due_at).num_minutes(),
                }),
            ));
        }
    }
    out.sort_by_key(|x| x.0);
    Ok(out.into_iter().take(20).map(|x| x.1).collect())
}

/// `GET /api/v1/dashboard?range=today|week&at=`.
pub async fn dashboard<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<DashboardParams>,
) -> Result<Json<Value>, ApiError> {
    let id = reader(&st, &headers).await?;
    let started = Instant::now();
    let range = match p.range.as_deref().map(str::trim) {
        None | Some("") | Some("today") => "today",
        Some("week") => "week",
        Some(other) => {
            return Err(ApiError::invalid(
                format!("range 只能是 today 或 week，收到 {other:?}"),
                format!("range must be today or week, got {other:?}"),
            ));
        }
    };
    let at =
        p.at.as_deref()
            .map(|s| {
                yuqing_core::document::parse_time_str(s.trim(), beijing())
                    .map(|t| t.timestamp_millis())
                    .map_err(|e| ApiError::invalid(format!("at：{e}"), format!("at: {e}")))
            })
            .transpose()?;
    let agg = aggregates(&st, range, at).await?;
    let alerts = st
        .store
        .alerts(&AlertQuery {
            limit: LATEST_ALERTS,
            ..Default::default()
        })
        .await?;
    let alerts: Vec<Value> = alerts
        .iter()
        .map(|a| {
            let mut v = super::alerts::alert_json(a);
            let l = Level::from_code(a.level);
            v["level_name"] = json!(l.map(Level::as_str));
            v["level_label"] = json!(l.map(Level::label_zh));
            v
        })
        .collect();
    let overdue = overdue_cases(&st, id.user.as_deref()).await?;
    let now = Utc::now();
    let sources: Vec<Value> = st
        .store
        .source_health()
        .await?
        .iter()
        .map(|h| json!({"health": h, "lag_seconds": h.lag_seconds(now)}))
        .collect();
    let mut v = (*agg).clone();
    v["alerts"] = json!(alerts);
    v["overdue_cases"] = json!(overdue);
    v["sources"] = json!(sources);
    v["server_ms"] = json!(started.elapsed().as_millis() as u64);
    Ok(Json(v))
}

// ---- search with the store's filters ----

fn bad(name: &str, v: &str, zh_hint: &str, en_hint: &str) -> ApiError {
    ApiError::invalid(
        format!("参数 {name} 的值 {v:?} 无效：{zh_hint}"),
        format!("{name}: invalid value {v:?}: {en_hint}"),
    )
}

/// The filters of `p` the index does not hold.
pub(super) fn doc_filter(p: &SearchParams) -> Result<DocFilter, ApiError> {
    let mut f = DocFilter::default();
    for s in p.sentiment.iter().flat_map(|s| s.split(',')).map(str::trim) {
        let code = match s {
            "" => continue,
            "positive" | "1" | "正面" => 1,
            "neutral" | "0" | "中性" => 0,
            "negative" | "-1" | "负面" => -1,
            _ => {
                return Err(bad(
                    "sentiment",
                    s,
                    "可选 positive、neutral、negative",
                    "use positive, neutral or negative",
                ));
            }
        };
        if !f.sentiments.contains(&code) {
            f.sentiments.push(code);
        }
    }
    if let Some(l) = p.level.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        let level = Level::parse(l)
            .or_else(|| l.parse::<i64>().ok().and_then(Level::from_code))
            .ok_or_else(|| {
                bad(
                    "level",
                    l,
                    "可选 general、large、major、especially_major 或 1–4",
                    "use general, large, major, especially_major or 1-4",
                )
            })?;
        f.min_level = Some(level.code());
    }
    if let Some(pl) = p.plan.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        f.plan_id = Some(
            pl.parse()
                .map_err(|_| bad("plan", pl, "须为方案编号", "must be a plan id"))?,
        );
    }
    f.region = p
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    Ok(f)
}

/// A page of search results.
pub(super) struct Found {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    /// The store filters saw only the newest [`MAX_CANDIDATES`] candidates.
    pub capped: bool,
    /// For a plan query: the terms that made the plan match each hit (by seq).
    pub terms: HashMap<i64, Vec<String>>,
}

fn matches(d: &StoredDocument, q: &str) -> bool {
    q.is_empty()
        || yuqing_text::normalize(&d.doc.text).contains(q)
        || d.doc
            .title
            .as_deref()
            .is_some_and(|t| yuqing_text::normalize(t).contains(q))
}

fn hit_of(d: StoredDocument, q: &str, score: f32) -> SearchHit {
    let snippet: Snippet = query::snippet(
        d.doc
            .title
            .as_deref()
            .filter(|t| !t.is_empty() && d.doc.text.is_empty())
            .unwrap_or(&d.doc.text),
        q,
        80,
    );
    SearchHit {
        score,
        snippet,
        doc: d,
    }
}

/// Search with the store's filters (see the module docs). `req.query` is normalised.
pub(super) async fn find<S: Store>(
    st: &AppState<S>,
    req: &SearchRequest,
    filter: &DocFilter,
) -> Result<Found, ApiError> {
    if filter.is_empty() {
        let page = query::search(&st.store, &st.index, req).await?;
        return Ok(Found {
            total: page.total,
            hits: page.hits,
            capped: false,
            terms: HashMap::new(),
        });
    }
    // Every candidate of the index (the query's characters, platform, kind, time,
    // verified); a query with nothing indexable takes every document of the filters and
    // is checked against the text.
    let index = st.index.clone();
    let r = req.clone();
    let (mut seqs, exact) = blocking(move || match index.seqs(&r) {
        Err(SearchError::Unsearchable { .. }) => {
            let mut all = r.clone();
            all.query.clear();
            index.seqs(&all).map(|(s, _)| (s, false))
        }
        other => other,
    })
    .await?
    .map_err(query::QueryError::from)?;
    let capped = seqs.len() > MAX_CANDIDATES;
    if capped {
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        seqs.truncate(MAX_CANDIDATES);
    }
    let mut kept = st.store.filter_seqs(&seqs, filter).await?;
    if !exact {
        let mut ok = Vec::with_capacity(kept.len());
        for chunk in kept.chunks(2000) {
            let ids: Vec<i64> = chunk.iter().map(|x| x.0).collect();
            let docs = st.store.by_seqs(&ids).await?;
            let q = req.query.clone();
            let good: std::collections::HashSet<i64> = blocking(move || {
                docs.iter()
                    .filter(|d| matches(d, &q))
                    .map(|d| d.seq)
                    .collect()
            })
            .await?;
            ok.extend(chunk.iter().filter(|x| good.contains(&x.0)).copied());
        }
        kept = ok;
    }
    let (total, page) = sort_and_page(kept, req);
    let docs = st.store.by_seqs(&page).await?;
    let hits = docs
        .into_iter()
        .map(|d| hit_of(d, &req.query, 1.0))
        .collect();
    Ok(Found {
        total,
        hits,
        capped,
        terms: HashMap::new(),
    })
}

/// The hits of `p`: a plan query (`api/plan_query.rs`) or the substring search with the
/// store's filters; `limit` and `offset` replace the page of `p` when given.
async fn find_params<S: Store>(
    st: &AppState<S>,
    p: SearchParams,
    page: Option<(usize, usize)>,
) -> Result<(Found, Option<Arc<yuqing_text::plan::Plan>>), ApiError> {
    let plan = super::plan_query::classify(&p.q)?;
    let filter = doc_filter(&p)?;
    let mut req = to_request(p)?;
    if let Some((limit, offset)) = page {
        req.limit = limit;
        req.offset = offset;
    }
    let found = match &plan {
        Some(pl) => super::plan_query::find(st, &req, &filter, pl.clone()).await?,
        None => find(st, &req, &filter).await?,
    };
    Ok((found, plan))
}

/// The levels of the events of `hits` (event id → level code).
async fn event_levels<S: Store>(
    st: &AppState<S>,
    hits: &[SearchHit],
) -> Result<HashMap<i64, i64>, ApiError> {
    let mut ids: Vec<i64> = hits.iter().filter_map(|h| h.doc.event_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        for e in st.store.events_by_id(chunk).await? {
            if let Some(l) = e.level {
                out.insert(e.id, l.level);
            }
        }
    }
    Ok(out)
}

/// `GET /api/v1/search`: a page of hits with snippets, judgement and event level; with a
/// plan query, each hit's `terms` and the plan's canonical `expression`.
pub(super) async fn search_json<S: Store>(
    st: &AppState<S>,
    p: SearchParams,
) -> Result<Value, ApiError> {
    let (found, plan) = find_params(st, p, None).await?;
    let levels = event_levels(st, &found.hits).await?;
    let hits: Vec<Value> = found
        .hits
        .iter()
        .map(|h| {
            let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
            let a = &h.doc.assessment;
            v["sentiment"] = json!(a.sentiment);
            v["corrected"] = json!(a.corrected & yuqing_core::Assessment::SENTIMENT != 0);
            let level = h.doc.event_id.and_then(|e| levels.get(&e)).copied();
            v["event_level"] = json!(level.and_then(Level::from_code).map(Level::as_str));
            if let Some(t) = found.terms.get(&h.doc.seq) {
                v["terms"] = json!(t);
            }
            v
        })
        .collect();
    let query = match &plan {
        Some(pl) => json!({"type": "plan", "expression": pl.expression()}),
        None => json!({"type": "text"}),
    };
    Ok(json!({ "total": found.total, "capped": found.capped, "hits": hits, "query": query }))
}

/// `GET /api/v1/count` with the store's filters (and plan queries).
pub(super) async fn count_filtered<S: Store>(
    st: &AppState<S>,
    p: SearchParams,
) -> Result<Value, ApiError> {
    if super::plan_query::classify(&p.q)?.is_none() {
        let filter = doc_filter(&p)?;
        if filter.is_empty() {
            let req = to_request(p)?;
            let n = query::count(st.store.as_ref(), &st.index, &req).await?;
            return Ok(json!({ "count": n }));
        }
    }
    let (found, _) = find_params(st, p, Some((1, 0))).await?;
    Ok(json!({ "count": found.total, "capped": found.capped }))
}

// ---- export ----

fn sentiment_label(s: Option<i8>) -> &'static str {
    match s {
        Some(1) => "正面",
        Some(0) => "中性",
        Some(-1) => "负面",
        _ => "",
    }
}

/// `GET /api/v1/search/export.xlsx?<search parameters>`: at most [`EXPORT_MAX`] rows.
pub async fn export_xlsx<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Response, ApiError> {
    reader(&st, &headers).await?;
    let (found, _) = find_params(&st, p, Some((EXPORT_MAX, 0))).await?;
    let levels = event_levels(&st, &found.hits).await?;
    let total = found.total;
    let bytes = blocking(move || workbook(&found.hits, &levels, total)).await??;
    let name = format!(
        "yuqing-search-{}.xlsx",
        Utc::now().with_timezone(&beijing()).format("%Y%m%d-%H%M")
    );
    Ok(xlsx_download(bytes, &name))
}

/// An Excel file as a download named `name`, not cached, not sniffed.
pub(super) fn xlsx_download(bytes: Vec<u8>, name: &str) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// Excel keeps at most 32,767 characters in a cell. Cells are written as strings, never
/// formulas, so a text starting with `=` stays text.
fn cell_text(s: &str) -> String {
    s.chars().take(32_000).collect()
}

fn workbook(
    hits: &[SearchHit],
    levels: &HashMap<i64, i64>,
    total: usize,
) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| {
        ApiError::new(
            Code::Internal,
            format!("生成 Excel 失败：{e}"),
            format!("writing the Excel file failed: {e}"),
        )
    };
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("检索结果").map_err(err)?;
    let bold = Format::new().set_bold();
    let headers = [
        "时间",
        "平台",
        "作者",
        "标题/正文",
        "链接",
        "情感",
        "事件",
        "级别",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (i, hit) in hits.iter().enumerate() {
        let r = (i + 1) as u32;
        let d = &hit.doc;
        let time = d
            .doc
            .published_at
            .map(|t| {
                t.with_timezone(&beijing())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let author = d
            .doc
            .author
            .as_ref()
            .and_then(|a| a.name.clone().or_else(|| a.id.clone()))
            .unwrap_or_default();
        let body = match d.doc.title.as_deref().filter(|t| !t.is_empty()) {
            Some(t) if !d.doc.text.is_empty() => format!("{t}\n{}", d.doc.text),
            Some(t) => t.to_owned(),
            None => d.doc.text.clone(),
        };
        let link = d.doc.url.clone().unwrap_or_default();
        let level = d
            .event_id
            .and_then(|e| levels.get(&e))
            .and_then(|l| Level::from_code(*l))
            .map_or("", Level::label_zh);
        ws.write_string(r, 0, time).map_err(err)?;
        ws.write_string(r, 1, cell_text(&d.doc.platform))
            .map_err(err)?;
        ws.write_string(r, 2, cell_text(&author)).map_err(err)?;
        ws.write_string(r, 3, cell_text(&body)).map_err(err)?;
        ws.write_string(r, 4, cell_text(&link)).map_err(err)?;
        ws.write_string(r, 5, sentiment_label(d.assessment.sentiment))
            .map_err(err)?;
        if let Some(e) = d.event_id {
            ws.write_number(r, 6, e as f64).map_err(err)?;
        }
        ws.write_string(r, 7, level).map_err(err)?;
    }
    if total > hits.len() {
        let r = (hits.len() + 2) as u32;
        ws.write_string(
            r,
            0,
            format!(
                "共 {total} 条，仅导出前 {} 条 / {total} hits, the first {} exported",
                hits.len(),
                hits.len()
            ),
        )
        .map_err(err)?;
    }
    ws.set_column_width(0, 18).map_err(err)?;
    ws.set_column_width(2, 16).map_err(err)?;
    ws.set_column_width(3, 80).map_err(err)?;
    ws.set_column_width(4, 40).map_err(err)?;
    ws.set_freeze_panes(1, 0).map_err(err)?;
    wb.save_to_buffer().map_err(err)
}

/// Orders filtered `(seq, published ms)` by time (newest first, or oldest with
/// `sort=time_asc`; undated last) and returns the total and the seqs of the page asked.
pub(super) fn sort_and_page(
    mut kept: Vec<(i64, Option<i64>)>,
    req: &SearchRequest,
) -> (usize, Vec<i64>) {
    match req.sort {
        Sort::TimeAsc => kept.sort_by_key(|&(s, t)| (t.unwrap_or(i64::MAX), s)),
        _ => kept.sort_by_key(|&(s, t)| std::cmp::Reverse((t.unwrap_or(i64::MIN), s))),
    }
    let page = kept
        .iter()
        .skip(req.offset)
        .take(req.limit.max(1))
        .map(|x| x.0)
        .collect();
    (kept.len(), page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_follow_the_beijing_day() {
        // 2024-05-06 10:30 Beijing = 02:30 UTC.
        let at = Utc
            .with_ymd_and_hms(2024, 5, 6, 2, 30, 0)
            .single()
            .expect("t")
            .timestamp_millis();
        let day = beijing()
            .with_ymd_and_hms(2024, 5, 6, 0, 0, 0)
            .single()
            .expect("t")
            .timestamp_millis();
        let p = period("today", at);
        assert_eq!((p.since, p.until), (day, at));
        assert_eq!((p.prev_since, p.prev_until), (day - DAY_MS, at - DAY_MS));
        let w = period("week", at);
        assert_eq!(w.since, day - 6 * DAY_MS);
        assert_eq!(w.prev_until, at - 7 * DAY_MS);
    }

    #[test]
    fn long_cells_are_cut() {
        assert_eq!(cell_text(&"字".repeat(40_000)).chars().count(), 32_000);
    }
}
