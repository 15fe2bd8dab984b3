//! Evidence files of cases (附件): upload as a raw body, download checked against its
//! hash. Identity as for the other case routes.
//!
//! - `POST /api/v1/cases/{id}/attachments?name&kind&expected_version` (body: the file,
//!   at most 256 MiB; `kind` text|image|audio|video, guessed from the name when absent):
//!   stores the file by its SHA-256 and records it on the case; returns the case.
//! - `GET /api/v1/cases/{id}/attachments/{sha256}`: the file, always as a download
//!   (`application/octet-stream`, `nosniff`, sandboxed), never rendered by the browser.

use super::AppState;
use super::cases::{CaseError, identify};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use yuqing_handling::cases::Principal;
use yuqing_store::{HandlingStore, Store};
use yuqing_workflow::case::AttachmentKind;

#[derive(Debug, Deserialize)]
pub struct AttachParams {
    pub name: String,
    pub kind: Option<AttachmentKind>,
    pub expected_version: u64,
}

pub async fn upload<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<AttachParams>,
    body: axum::body::Bytes,
) -> Result<Response, CaseError> {
    let (svc, user, _) = identify(&st, &headers).await?;
    let kind = p
        .kind
        .unwrap_or_else(|| yuqing_handling::evidence::guess_kind(&p.name));
    let case = svc
        .attach(&id, &user, p.expected_version, &p.name, kind, body.to_vec())
        .await?;
    Ok(Json(case).into_response())
}

/// RFC 5987 `filename*` value: UTF-8, percent-encoded.
fn encode_filename(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub async fn download<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path((id, sha)): Path<(String, String)>,
) -> Result<Response, CaseError> {
    let (svc, user, _) = identify(&st, &headers).await?;
    let (a, bytes) = svc.attachment(&id, &sha, &Principal::user(user)).await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename*=UTF-8''{}",
        encode_filename(&a.name)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
