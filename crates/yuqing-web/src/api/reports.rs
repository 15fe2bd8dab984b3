//! Report routes (报告, issue 6), over `yuqing_handling::reports`:
//!
//! - `GET  /api/v1/reports?kind=&limit=`: the saved reports, newest first (no model);
//! - `POST /api/v1/reports` with the inputs (`{"kind": "daily", "date": "2026-11-21"}`,
//!   `weekly`+`week`, `monthly`+`month`, `event`+`event`, `flash`+`alert`|`doc`,
//!   `digest`+`issue`+`items: [{doc, summary}]`, `yearly`+`year`, `circular`+`period`
//!   (`2026-W47`, `2026-11`, `2026-Q4` or `2026`); optional `commentary`,
//!   and `plan` (a plan id) for daily, weekly and monthly):
//!   builds and saves it → 201 `{"report": saved}`;
//! - `GET  /api/v1/reports/{id}`: the saved report with its model (every figure), and
//!   for a scheduled report `announced`: where its announcement went (channel,
//!   `delivered_at` or null while still tried, `attempts`, the last `error`);
//! - `GET  /api/v1/reports/{id}/export.{html|docx|xlsx|pdf|json}`: the report as made, as
//!   a download (PDF needs LibreOffice: 503 `unavailable` with how to fix, otherwise);
//! - `PUT  /api/v1/reports/{id}/commentary` `{"commentary": {"<key>": "text"}}`: the
//!   analyst's commentary (empty text: back to the computed draft), rebuilt and saved;
//! - `POST /api/v1/reports/{id}/rebuild`: built again from its inputs over today's data.
//!
//! Reports are the office's: every route needs the leader, analyst or spokesperson role
//! (a department liaison or a plain administrator gets 403). A report belongs to the unit
//! of its maker's office role nearest the root, and is read, edited and rebuilt by those
//! with an office role on that unit or above it (reports made by the CLI or the schedule
//! are the whole organisation's). Cases in a report are those its maker may see, also
//! when someone else rebuilds it.

use super::AppState;
use super::cases::{CaseError, identify};
use crate::error::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use yuqing_core::Code;
use yuqing_handling::cases::Principal;
use yuqing_handling::reports::{Inputs, Reports};
use yuqing_report::{Format, ReportError};
use yuqing_store::{HandlingStore, ReportStore, Store};
use yuqing_workflow::org::{Org, Role};

type Reply = Result<Response, CaseError>;

fn service<S: Store>(st: &AppState<S>) -> Result<&Arc<Reports<S>>, CaseError> {
    st.reports.as_ref().ok_or_else(|| {
        ApiError::new(
            Code::Unavailable,
            "本服务未启用报告功能",
            "reports are not enabled on this server",
        )
        .into()
    })
}

/// The roles of the office, who make and read reports.
const OFFICE: [Role; 3] = [Role::Leader, Role::Analyst, Role::Spokesperson];

/// The unit of the user's office role nearest the root: the reports they make belong to it.
fn office_unit(org: &Org, user: &str) -> Option<String> {
    org.user(user)?
        .grants
        .iter()
        .filter(|g| OFFICE.contains(&g.role))
        .min_by_key(|g| (org.ancestors(&g.unit).len(), g.unit.clone()))
        .map(|g| g.unit.clone())
}

/// The user's office unit, or 403.
fn require_office(org: &Org, user: &str) -> Result<String, CaseError> {
    office_unit(org, user).ok_or_else(|| {
        ApiError::new(
            Code::Forbidden,
            format!("用户 {user} 无权查看或生成报告（需要领导、分析员或发言人角色）"),
            format!("user {user} may not see or make reports (needs the leader, analyst or spokesperson role)"),
        )
        .into()
    })
}

/// Whether the user may read and edit a report of `unit` (`None`: the organisation's).
fn may_read(org: &Org, user: &str, unit: Option<&str>) -> bool {
    match unit {
        None => office_unit(org, user).is_some(),
        Some(u) => org.roles_at(user, u).iter().any(|r| OFFICE.contains(r)),
    }
}

/// The saved report `id` if the user may read it, else 403 (or 404 when there is none).
async fn readable<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    svc: &Reports<S>,
    org: &Org,
    user: &str,
    id: i64,
) -> Result<yuqing_store::reports::SavedReport, CaseError> {
    require_office(org, user)?;
    let saved = svc.saved(id).await?;
    if may_read(org, user, saved.unit.as_deref()) {
        Ok(saved)
    } else {
        Err(ApiError::new(
            Code::Forbidden,
            format!(
                "报告 {id} 属于单位 {}，用户 {user} 在该单位及其上级没有舆情工作角色",
                saved.unit.as_deref().unwrap_or("-")
            ),
            format!(
                "report {id} belongs to unit {}, where user {user} holds no office role",
                saved.unit.as_deref().unwrap_or("-")
            ),
        )
        .into())
    }
}

fn render_error(e: ReportError) -> CaseError {
    let code = match e {
        ReportError::Invalid { .. } => Code::InvalidInput,
        ReportError::PdfUnavailable { .. } => Code::Unavailable,
        ReportError::Render { .. } => Code::Internal,
    };
    let (zh, en) = e.messages();
    ApiError::new(code, zh, en).into()
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    kind: Option<String>,
    limit: Option<i64>,
}

pub async fn list_reports<S: Store + HandlingStore + ReportStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<ListParams>,
) -> Reply {
    let (_, user, org) = identify(&st, &headers).await?;
    require_office(&org, &user)?;
    let svc = service(&st)?;
    let kind = match p.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(yuqing_report::Kind::parse(k).ok_or_else(|| {
            ApiError::invalid(
                format!("未知的报告类型 {k:?}：daily、weekly、monthly、flash、digest、event、yearly、circular"),
                format!("unknown report kind {k:?}: daily, weekly, monthly, flash, digest, event, yearly or circular"),
            )
        })?),
    };
    let list = svc
        .list(kind, p.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    let list: Vec<Value> = list
        .into_iter()
        .filter(|r| may_read(&org, &user, r.unit.as_deref()))
        .map(|r| {
            let mut v = serde_json::to_value(&r).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("model");
            }
            v
        })
        .collect();
    Ok(Json(json!({ "reports": list })).into_response())
}

pub async fn create_report<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let (_, user, org) = identify(&st, &headers).await?;
    let unit = require_office(&org, &user)?;
    let svc = service(&st)?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(
            format!("报告参数的 JSON 无效：{e}"),
            format!("invalid report JSON: {e}"),
        )
    })?;
    let inputs = Inputs::from_json(v)?;
    let saved = svc
        .make(&inputs, &Principal::user(user.clone()), &user, Some(unit))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "report": saved }))).into_response())
}

fn id_of(id: &str) -> Result<i64, CaseError> {
    id.parse().map_err(|_| {
        ApiError::invalid(
            format!("报告编号应为整数，收到 {id:?}"),
            format!("a report id is an integer, got {id:?}"),
        )
        .into()
    })
}

pub async fn get_report<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let (_, user, org) = identify(&st, &headers).await?;
    let svc = service(&st)?;
    let saved = readable(svc, &org, &user, id_of(&id)?).await?;
    let announced = svc.announced(&saved).await?;
    Ok(Json(json!({ "report": saved, "announced": announced })).into_response())
}

pub async fn export_report<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path((id, file)): Path<(String, String)>,
) -> Reply {
    let (_, user, org) = identify(&st, &headers).await?;
    let Some(ext) = file.strip_prefix("export.") else {
        return Err(ApiError::new(
            Code::NotFound,
            format!(
                "没有 {file}：用 export.html、export.docx、export.xlsx、export.pdf 或 export.json"
            ),
            format!(
                "no {file}: use export.html, export.docx, export.xlsx, export.pdf or export.json"
            ),
        )
        .into());
    };
    let format = Format::parse(ext).map_err(render_error)?;
    let svc = service(&st)?;
    let id = id_of(&id)?;
    readable(svc, &org, &user, id).await?;
    let report = svc.saved_model(id).await?;
    let opts = st.report_options.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        yuqing_report::render(&report, format, &opts).map(|b| (b, report.file_stem()))
    })
    .await
    .map_err(|e| {
        ApiError::new(
            Code::Internal,
            format!("内部错误：{e}"),
            format!("internal error: {e}"),
        )
    })?;
    let (bytes, stem) = bytes.map_err(render_error)?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime()),
    );
    if format != Format::Html {
        // RFC 5987: the UTF-8 name, plus an ASCII fallback.
        let encoded: String = format!("{stem}.{}", format.extension())
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "attachment; filename=\"report-{id}.{}\"; filename*=UTF-8''{encoded}",
            format.extension()
        )) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    } else {
        // The report page shows it in a sandboxed frame: no scripts at all.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"),
        );
    }
    Ok(resp)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentaryBody {
    commentary: BTreeMap<String, String>,
}

pub async fn put_commentary<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let (_, user, org) = identify(&st, &headers).await?;
    let id = id_of(&id)?;
    readable(service(&st)?, &org, &user, id).await?;
    let b: CommentaryBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(
            format!("点评的 JSON 无效：{e}（形如 {{\"commentary\": {{\"commentary\": \"…\"}}}}）"),
            format!(
                "invalid commentary JSON: {e} (like {{\"commentary\": {{\"commentary\": \"…\"}}}})"
            ),
        )
    })?;
    let saved = service(&st)?.edit(id, b.commentary).await?;
    Ok(Json(json!({ "report": saved })).into_response())
}

pub async fn rebuild_report<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Reply {
    let (_, user, org) = identify(&st, &headers).await?;
    let id = id_of(&id)?;
    readable(service(&st)?, &org, &user, id).await?;
    let saved = service(&st)?.rebuild(id).await?;
    Ok(Json(json!({ "report": saved })).into_response())
}
