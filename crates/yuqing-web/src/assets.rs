//! The web application's files (HTML, JavaScript, CSS, vendored ECharts), embedded at
//! build time from `assets/` (see `build.rs`) and served by the binary: nothing is fetched
//! from a CDN. Each file is served gzip-compressed when the browser accepts it (compressed
//! once, on first request) with an ETag, and every response carries the security headers
//! of the application (CSP allowing only this origin's scripts, no framing, no sniffing).

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

struct Asset {
    content_type: &'static str,
    raw: &'static [u8],
    gzip: Vec<u8>,
    etag: String,
}

fn table() -> &'static HashMap<&'static str, Asset> {
    static T: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    T.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(path, ct, raw)| {
                let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                let gzip = z
                    .write_all(raw)
                    .and_then(|()| z.finish())
                    .unwrap_or_default();
                let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(raw));
                (
                    *path,
                    Asset {
                        content_type: ct,
                        raw,
                        gzip,
                        etag,
                    },
                )
            })
            .collect()
    })
}

/// The Content-Security-Policy of the application.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'";

/// Adds the security headers every page and asset carries.
pub fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// For front-end development: with `YUQING_ASSETS_DIR` set, files are read from that
/// directory on every request (no rebuild needed after editing a page).
fn from_disk(path: &str) -> Option<Response> {
    let dir = std::env::var_os("YUQING_ASSETS_DIR")?;
    if path.split('/').any(|c| c == ".." || c.is_empty()) {
        return Some((StatusCode::NOT_FOUND, "not found").into_response());
    }
    let ct = table().get(path).map_or_else(
        || match path.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("html") => "text/html; charset=utf-8",
            _ => "application/octet-stream",
        },
        |a| a.content_type,
    );
    let bytes = std::fs::read(std::path::Path::new(&dir).join(path)).ok()?;
    let mut headers = HeaderMap::new();
    secure(&mut headers);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Some((headers, bytes).into_response())
}

fn serve(path: &str, req: &HeaderMap) -> Response {
    if let Some(r) = from_disk(path) {
        return r;
    }
    let Some(a) = table().get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut headers = HeaderMap::new();
    secure(&mut headers);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&a.etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag))
    {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let gzip_ok = req
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    if gzip_ok && !a.gzip.is_empty() && a.gzip.len() < a.raw.len() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return (headers, a.gzip.clone()).into_response();
    }
    (headers, a.raw).into_response()
}

/// `GET /`: the application's page.
pub async fn index(req: HeaderMap) -> Response {
    serve("index.html", &req)
}

/// `GET /api/openapi.json`: the API description (made by `tools/openapi.py`).
pub async fn openapi(req: HeaderMap) -> Response {
    serve("openapi.json", &req)
}

/// `GET /assets/{*path}`.
pub async fn asset(Path(path): Path<String>, req: HeaderMap) -> Response {
    serve(&path, &req)
}

/// Every embedded path (for tests and the page-weight check).
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(p, _, _)| *p)
}
