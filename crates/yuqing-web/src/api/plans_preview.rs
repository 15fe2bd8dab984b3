//! `POST /api/v1/plans/preview`: the live preview of the plan editor. A plan expression
//! (or the structured words 地域/主体/事件/排除) is parsed, linted and backtested against
//! the stored history with `yuqing_ingest::backtest`, the same code as `yuqing plan
//! test`, so the preview's count is the CLI's.
//!
//! Body: `{"expression"? | "region"/"subject"/"event"/"exclusion", "since"?, "until"?,
//! "samples"?}`. Answer: `{"expression", "count", "daily": [{"date", "count"}],
//! "samples": [{seq, platform, id, url, title, published_at, text, highlights, terms}],
//! "lint": [{position, column, message, message_en, severity}], "complete", "indexed",
//! "checked", "took_ms"}`. `text` is a snippet of the original text (at most
//! [`SNIPPET_CHARS`] characters) and `highlights` are character ranges in it. An
//! expression that does not parse is a 400 with the error's `position`, `column` and
//! `kind`, plus every `lint` message.
//!
//! Only reads, but needs a logged-in user or a token (the data is not public). It is
//! bounded: at most [`MAX_SAMPLES`] samples, [`CONCURRENT`] previews at a time, and
//! [`BUDGET`] of work (then `complete` is false and the counts are lower bounds).

use super::AppState;
use crate::auth;
use crate::error::{ApiError, status};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use yuqing_core::Code;
use yuqing_ingest::backtest::{BacktestOptions, backtest, hit_terms};
use yuqing_ingest::query::snippet;
use yuqing_store::{HandlingStore, Store};
use yuqing_text::normalize;
use yuqing_text::plan::{Level, LintMessage, Plan, PlanError, StructuredPlan, lint};

/// Samples when the request does not say, and at most.
const DEFAULT_SAMPLES: usize = 5;
pub const MAX_SAMPLES: usize = 20;
/// Characters of a sample's text snippet.
pub const SNIPPET_CHARS: usize = 160;
/// Previews computed at the same time (each uses up to two threads while matching).
pub const CONCURRENT: usize = 2;
/// Work per preview before it answers with what it has.
pub const BUDGET: Duration = Duration::from_secs(3);

fn permits() -> &'static Semaphore {
    static P: OnceLock<Semaphore> = OnceLock::new();
    P.get_or_init(|| Semaphore::new(CONCURRENT))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    expression: Option<String>,
    #[serde(default)]
    region: Vec<String>,
    #[serde(default)]
    subject: Vec<String>,
    #[serde(default)]
    event: Vec<String>,
    #[serde(default)]
    exclusion: Vec<String>,
    since: Option<String>,
    until: Option<String>,
    samples: Option<usize>,
}

fn lint_json(messages: &[LintMessage]) -> Vec<Value> {
    messages
        .iter()
        .map(|m| {
            json!({
                "position": m.pos,
                "column": m.pos.map(|p| p + 1),
                "message": m.zh,
                "message_en": m.en,
                "severity": if m.level == Level::Error { "error" } else { "warning" },
            })
        })
        .collect()
}

/// 400 for an expression that does not parse: the standard error fields, where, and the
/// lint messages of the expression.
fn parse_error(e: &PlanError, expression: &str) -> Response {
    let mut body = super::judgement::plan_error_body(e);
    body["expression"] = json!(expression);
    body["lint"] = json!(lint_json(&lint(expression)));
    (status(Code::InvalidInput), Json(body)).into_response()
}

fn time(name: &str, v: Option<&str>) -> Result<Option<i64>, ApiError> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            yuqing_core::document::parse_time_str(s, yuqing_core::document::beijing())
                .map(|t| t.timestamp_millis())
                .map_err(|e| ApiError::from_display(Code::InvalidInput, &format!("{name}: {e}")))
        })
        .transpose()
}

/// `POST /api/v1/plans/preview` (see the module docs).
pub async fn preview<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, Response> {
    let fail = IntoResponse::into_response;
    let who = auth::resolve(&st, &headers).await.map_err(fail)?;
    auth::require_changed(&who).map_err(fail)?;
    let b: PreviewBody = serde_json::from_slice(&body).map_err(|e| {
        fail(ApiError::invalid(
            format!("请求体 JSON 无效：{e}"),
            format!("invalid JSON body: {e}"),
        ))
    })?;
    let structured = StructuredPlan {
        region: b.region,
        subject: b.subject,
        event: b.event,
        exclusion: b.exclusion,
    };
    let has_words = structured != StructuredPlan::default();
    let (expression, parsed) = match (b.expression, has_words) {
        (Some(_), true) => {
            return Err(fail(ApiError::invalid(
                "表达式（expression）与结构化词（region/subject/event/exclusion）只能二选一",
                "give either an expression or the structured words (region/subject/event/exclusion), not both",
            )));
        }
        (Some(e), false) => {
            let p = Plan::parse(&e);
            (e, p)
        }
        (None, true) => (structured.to_expression(), structured.compile()),
        (None, false) => {
            return Err(fail(ApiError::invalid(
                "缺少表达式（expression）或结构化词（region/subject/event/exclusion）",
                "give an expression or the structured words (region/subject/event/exclusion)",
            )));
        }
    };
    let plan = parsed.map_err(|e| parse_error(&e, &expression))?;
    let lint = lint_json(&lint(&expression));
    let opts = BacktestOptions {
        since_ms: time("since", b.since.as_deref()).map_err(fail)?,
        until_ms: time("until", b.until.as_deref()).map_err(fail)?,
        samples: b.samples.unwrap_or(DEFAULT_SAMPLES).min(MAX_SAMPLES),
        deadline: None,
    };
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| fail(ApiError::from_display(Code::Unavailable, &e)))?;
    let started = Instant::now();
    let opts = BacktestOptions {
        deadline: Some(started + BUDGET),
        ..opts
    };
    let result = backtest(st.store.as_ref(), &st.index, &plan, &opts)
        .await
        .map_err(|e| fail(ApiError::from_display(e.code(), &e)))?;
    let samples: Vec<Value> = result
        .samples
        .iter()
        .map(|d| {
            let terms = hit_terms(&plan, d);
            let text = normalize(&d.doc.text);
            let first = terms.iter().find(|t| text.contains(t.as_str()));
            let s = snippet(&d.doc.text, first.map_or("", String::as_str), SNIPPET_CHARS);
            json!({
                "seq": d.seq,
                "platform": d.doc.platform,
                "id": d.doc.id,
                "url": d.doc.url,
                "title": d.doc.title,
                "published_at": d.doc.published_at,
                "text": s.text,
                "highlights": s.highlights,
                "terms": terms,
            })
        })
        .collect();
    let daily: Vec<Value> = result
        .daily
        .iter()
        .map(|(date, n)| json!({"date": date, "count": n}))
        .collect();
    Ok(Json(json!({
        "expression": plan.expression(),
        "input": expression,
        "count": result.count,
        "daily": daily,
        "samples": samples,
        "lint": lint,
        "complete": result.complete,
        "indexed": result.indexed,
        "checked": result.checked,
        "took_ms": started.elapsed().as_millis() as u64,
    })))
}
