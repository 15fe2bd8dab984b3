//! The formats a report is rendered to. Every renderer reads only the [`Report`]: no
//! renderer queries anything, so a saved report renders the same way every time.
//!
//! - [`html`]: a standalone HTML5 page laid out like a government briefing (charts as SVG);
//! - [`docx`]: a Word document in the GB/T 9704 style (charts as PNG);
//! - [`xlsx`]: the figures, tables, chart data and cited items as typed spreadsheet cells;
//! - [`pdf`]: the DOCX converted by LibreOffice, when it is installed;
//! - [`chart`]: the charts, drawn in the UI's look (ECharts' default theme).
//!
//! Text from documents is untrusted: every renderer escapes it, drops characters XML
//! cannot carry ([`clean`]) and links only `http`/`https` URLs ([`web_url`]).

pub mod chart;
pub mod docx;
pub mod html;
pub mod pdf;
pub mod xlsx;

use crate::error::{ReportError, Result};
use crate::model::Report;
use std::borrow::Cow;
use std::path::PathBuf;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Docx,
    Xlsx,
    Pdf,
    Json,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Html,
        Format::Docx,
        Format::Xlsx,
        Format::Pdf,
        Format::Json,
    ];

    pub fn parse(s: &str) -> Result<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.extension() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                ReportError::invalid(
                    format!("未知的报告格式 {s:?}：可用 html、docx、xlsx、pdf、json"),
                    format!("unknown report format {s:?}: use html, docx, xlsx, pdf or json"),
                )
            })
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Docx => "docx",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
            Format::Json => "json",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Pdf => "application/pdf",
            Format::Json => "application/json",
        }
    }
}

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// A font file with Chinese glyphs for chart images (DOCX/PDF). None: look in the
    /// usual system places.
    pub font: Option<PathBuf>,
    /// LibreOffice's `soffice`. None: `soffice` or `libreoffice` on PATH.
    pub soffice: Option<PathBuf>,
    /// Where yuqing's UI is reached (e.g. `http://10.0.0.5:8080`), to link cited items to
    /// their page in yuqing besides the original URL. None: original URLs only.
    pub base_url: Option<String>,
}

/// Renders `report` as `format`.
pub fn render(report: &Report, format: Format, opts: &RenderOptions) -> Result<Vec<u8>> {
    match format {
        Format::Json => serde_json::to_vec_pretty(report).map_err(|e| {
            ReportError::render(format!("JSON 生成失败：{e}"), format!("JSON failed: {e}"))
        }),
        Format::Html => Ok(html::render(report, opts).into_bytes()),
        Format::Docx => docx::render(report, opts),
        Format::Xlsx => xlsx::render(report, opts),
        Format::Pdf => pdf::render(report, opts),
    }
}

/// `s` without the characters XML 1.0 cannot carry (C0 controls except tab, newline and
/// carriage return; U+FFFE, U+FFFF). Document text is untrusted and may hold any of them.
pub fn clean(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r') && (c as u32) < 0x20)
            || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if s.chars().any(bad) {
        Cow::Owned(s.chars().filter(|c| !bad(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` [`clean`]ed and escaped for HTML/XML text and quoted attribute values.
pub fn esc(s: &str) -> String {
    html_escape::encode_safe(&clean(s)).into_owned()
}

/// `s` [`clean`]ed and escaped for a double-quoted attribute value (URLs stay readable).
pub fn attr(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(&clean(s)).into_owned()
}

/// `url` when it is an absolute `http`/`https` URL that is safe to link (no spaces, quotes
/// or control characters); None otherwise (the renderers then show it as text).
pub fn web_url(url: &str) -> Option<&str> {
    let u = url.trim();
    let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
    let scheme_ok = lower.starts_with("http://") || lower.starts_with("https://");
    let host_ok = u
        .split_once("//")
        .map(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'))
        .unwrap_or(false);
    let chars_ok = !u
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\' | '`'));
    (scheme_ok && host_ok && chars_ok && u.len() <= 4096).then_some(u)
}

/// yuqing's own page of a stored document: `{base}/#/search?doc={doc}` (doc URL-encoded).
pub fn yuqing_link(base: &str, doc: &str) -> Option<String> {
    let base = web_url(base)?.trim_end_matches('/');
    let mut enc = String::with_capacity(doc.len());
    for b in doc.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    Some(format!("{base}/#/search?doc={enc}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_urls_are_linked() {
        assert_eq!(
            web_url(" https://a.example/x?y=1 "),
            Some("https://a.example/x?y=1")
        );
        assert_eq!(web_url("HTTP://a.example"), Some("HTTP://a.example"));
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "https://",
            "https:///x",
            "https://a.example/\"x",
            "https://a b",
            "ftp://a.example",
            "",
        ] {
            assert_eq!(web_url(bad), None, "{bad}");
        }
        assert_eq!(
            yuqing_link("http://10.0.0.5:8080/", "weibo:12 3").as_deref(),
            Some("http://10.0.0.5:8080/#/search?doc=weibo:12%203")
        );
        assert_eq!(yuqing_link("javascript:x", "a"), None);
    }

    #[test]
    fn text_is_cleaned_and_escaped() {
        assert_eq!(clean("a\u{0}b\u{1b}c\td"), "abc\td");
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
        );
    }
}
