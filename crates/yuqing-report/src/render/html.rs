//! HTML: one standalone HTML5 page (inline CSS, inline SVG charts, no external resource of
//! any kind) laid out like a government briefing: the red header (红头) with the issuing
//! unit, 期号 and date over a red rule, the title, sections numbered 一、二、…, figures as a
//! two-column list, tables, charts, cited items linked to their originals (and to yuqing),
//! and the analyst's commentary visibly marked as such.
//!
//! All text is HTML-escaped; only `http`/`https` URLs become links.

use super::{RenderOptions, attr, chart, esc, web_url, yuqing_link};
use crate::model::{Block, Figure, Item, Report, Table, Value, section_number};
use std::fmt::Write as _;

const CSS: &str = r#"
:root{--red:#c00000;--ink:#222;--muted:#666;--rule:#e0e0e0}
*{box-sizing:border-box}
body{margin:0;background:#f3f3f3;color:var(--ink);font:16px/1.75 "FangSong","仿宋","STFangsong","Noto Serif CJK SC","Songti SC",serif}
.page{max-width:860px;margin:24px auto;background:#fff;padding:48px 64px 40px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
.redhead{text-align:center;color:var(--red);margin-bottom:20px}
.redhead .header-text{text-align:left;color:var(--ink);font-family:"SimHei","黑体","Noto Sans CJK SC",sans-serif;font-size:15px;margin-bottom:8px}
.redhead .logo{max-height:56px;vertical-align:middle;margin-right:12px}
.redhead h1{display:inline-block;vertical-align:middle;margin:8px 0;font:bold 40px/1.3 "FZXiaoBiaoSong-B05S","方正小标宋简体","SimSun","宋体","Noto Serif CJK SC",serif;letter-spacing:4px;color:var(--red)}
.redhead .issue{color:var(--ink);font-size:16px;margin:4px 0 10px}
.redhead .meta{display:flex;justify-content:space-between;color:var(--ink);font-size:15px;padding:0 2px 6px;border-bottom:3px solid var(--red)}
.title{text-align:center;font:bold 24px/1.5 "SimSun","宋体","Noto Serif CJK SC",serif;margin:24px 0 6px}
.period{text-align:center;color:var(--muted);font-size:14px;margin:0 0 18px}
.notice{border:2px solid var(--red);background:#fff5f5;color:var(--red);padding:12px 16px;margin:18px 0;font-weight:bold;font-family:"SimHei","黑体","Noto Sans CJK SC",sans-serif}
h2{font:bold 18px/1.6 "SimHei","黑体","Noto Sans CJK SC",sans-serif;margin:28px 0 10px}
p{margin:8px 0;text-indent:2em}
dl.figures{display:grid;grid-template-columns:1fr 1fr;gap:4px 32px;margin:10px 0 14px;padding:0}
dl.figures div{display:flex;justify-content:space-between;border-bottom:1px dotted #ccc;padding:2px 0}
dl.figures dt{color:var(--muted)}
dl.figures dd{margin:0;font-weight:bold;font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif}
figure{margin:14px 0}
figcaption{font-weight:bold;text-align:center;margin-bottom:6px;font-size:15px}
table{border-collapse:collapse;width:100%;font-size:14px;line-height:1.5;font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif}
th,td{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.num{text-align:right;white-space:nowrap}
figure.chart svg{width:100%;height:auto;display:block;border:1px solid var(--rule)}
ol.items{padding-left:2em;margin:10px 0}
ol.items li{margin:10px 0}
ol.items .item-title{font-weight:bold}
ol.items .item-meta{color:var(--muted);font-size:14px}
ol.items .item-summary{margin:2px 0}
ol.items .item-links a{margin-right:1em;font-size:14px}
a{color:#1f4e9e}
.nolink{color:var(--muted);word-break:break-all}
aside.draft{border-left:4px solid #e6a23c;background:#fdf6ec;padding:8px 14px;margin:12px 0}
aside.draft .draft-label{font-weight:bold;color:#b26a00;font-family:"SimHei","黑体","Noto Sans CJK SC",sans-serif;font-size:15px}
aside.draft.edited{border-left-color:#67c23a;background:#f0f9eb}
aside.draft.edited .draft-label{color:#3b7a1f}
footer{margin-top:36px;padding-top:8px;border-top:1px solid var(--rule);color:var(--muted);font-size:13px;display:flex;justify-content:space-between}
@media print{body{background:#fff}.page{box-shadow:none;margin:0;max-width:none;padding:0}a{color:inherit}}
@page{size:A4;margin:37mm 26mm 35mm 28mm}
"#;

/// The label of a Draft block.
pub fn draft_label(edited: bool) -> &'static str {
    if edited {
        "分析人员点评"
    } else {
        "分析人员点评（草稿，可编辑）"
    }
}

/// Renders `report` as a standalone HTML5 page.
pub fn render(report: &Report, opts: &RenderOptions) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = match &report.subtitle {
        Some(s) => format!("{} {}", report.title, s),
        None => report.title.clone(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"yuqing\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main class=\"page\">\n",
        esc(&title)
    );
    redhead(&mut out, report);
    if let Some(sub) = &report.subtitle {
        let _ = writeln!(out, "<div class=\"title\">{}</div>", esc(sub));
    }
    if let Some(p) = &report.period {
        let _ = writeln!(
            out,
            "<div class=\"period\">统计时段：{}</div>",
            esc(&p.label)
        );
    }
    if let Some(notice) = &report.notice {
        let _ = writeln!(
            out,
            "<div class=\"notice\" role=\"note\">{}</div>",
            text_lines(notice)
        );
    }
    for (i, section) in report.sections.iter().enumerate() {
        let _ = writeln!(
            out,
            "<section>\n<h2>{}、{}</h2>",
            section_number(i),
            esc(&section.title)
        );
        for block in &section.blocks {
            self::block(&mut out, block, opts);
        }
        out.push_str("</section>\n");
    }
    let _ = write!(
        out,
        "<footer><span>{}</span><span>生成时间：{}</span></footer>\n</main>\n</body>\n</html>\n",
        esc(&report.letterhead.organisation),
        esc(&report.generated_at.format("%Y-%m-%d %H:%M").to_string())
    );
    out
}

fn redhead(out: &mut String, report: &Report) {
    out.push_str("<header class=\"redhead\">\n");
    if let Some(h) = report
        .letterhead
        .header
        .as_deref()
        .filter(|h| !h.is_empty())
    {
        let _ = writeln!(out, "<div class=\"header-text\">{}</div>", esc(h));
    }
    out.push_str("<div>");
    if let Some(uri) = report.letterhead.logo.as_deref().and_then(logo_data_uri) {
        let _ = write!(out, "<img class=\"logo\" alt=\"\" src=\"{uri}\">");
    }
    let _ = writeln!(out, "<h1>{}</h1></div>", esc(&report.title));
    if let Some(issue) = &report.issue {
        let _ = writeln!(out, "<div class=\"issue\">{}</div>", esc(issue));
    }
    let _ = writeln!(
        out,
        "<div class=\"meta\"><span class=\"org\">{}</span><span class=\"date\">{}</span></div>\n</header>",
        esc(&report.letterhead.organisation),
        esc(&report.date)
    );
}

/// A PNG or JPEG logo as a `data:` URI (inline, so the page stays self-contained).
fn logo_data_uri(bytes: &[u8]) -> Option<String> {
    let mime = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else {
        return None;
    };
    Some(format!("data:{mime};base64,{}", base64(bytes)))
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(A[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Escaped text with line breaks kept.
fn text_lines(s: &str) -> String {
    esc(s.trim_end())
        .replace("\r\n", "\n")
        .replace('\n', "<br>")
}

/// A link when `url` is a web URL, else the text (and the URL, when it differs) as text.
fn link(text: &str, url: &str) -> String {
    match web_url(url) {
        Some(u) => format!(
            "<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{}</a>",
            attr(u),
            esc(text)
        ),
        None if url.trim().is_empty() || url == text => esc(text),
        None => format!("{} <span class=\"nolink\">({})</span>", esc(text), esc(url)),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Link { text, url } => link(text, url),
        other => esc(&other.display()),
    }
}

fn is_num(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Num(_) | Value::Pct(_))
}

fn block(out: &mut String, block: &Block, opts: &RenderOptions) {
    match block {
        Block::Paragraph { text } => {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let _ = writeln!(out, "<p>{}</p>", esc(line.trim_end()));
            }
        }
        Block::Figures { items } => figures(out, items),
        Block::Table(t) => table(out, t),
        Block::Chart(c) => {
            let _ = writeln!(
                out,
                "<figure class=\"chart\" data-key=\"{}\">{}</figure>",
                esc(&c.key),
                chart::svg(c)
            );
        }
        Block::Items { items } => self::items(out, items, opts),
        Block::Draft {
            key, text, edited, ..
        } => {
            let _ = writeln!(
                out,
                "<aside class=\"draft{}\" data-key=\"{}\"><div class=\"draft-label\">{}</div><p>{}</p></aside>",
                if *edited { " edited" } else { "" },
                esc(key),
                draft_label(*edited),
                text_lines(text)
            );
        }
    }
}

fn figures(out: &mut String, items: &[Figure]) {
    out.push_str("<dl class=\"figures\">\n");
    for f in items {
        let _ = writeln!(
            out,
            "<div data-key=\"{}\"><dt>{}</dt><dd>{}</dd></div>",
            esc(&f.key),
            esc(&f.label),
            value(&f.value)
        );
    }
    out.push_str("</dl>\n");
}

fn table(out: &mut String, t: &Table) {
    let _ = write!(out, "<figure class=\"table\" data-key=\"{}\">", esc(&t.key));
    if !t.title.is_empty() {
        let _ = write!(out, "<figcaption>{}</figcaption>", esc(&t.title));
    }
    out.push_str("<table>\n<thead><tr>");
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for v in row {
            let class = if is_num(v) { " class=\"num\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", value(v));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></figure>\n");
}

/// The line under an item's title: platform · author · time · level · sentiment.
pub(crate) fn item_meta(item: &Item) -> String {
    let mut parts: Vec<String> = Vec::new();
    for s in [&item.platform, &item.author].into_iter().flatten() {
        if !s.trim().is_empty() {
            parts.push(s.clone());
        }
    }
    if let Some(t) = item.published_at {
        parts.push(t.format("%Y-%m-%d %H:%M").to_string());
    }
    if let Some(l) = item.level.as_deref().filter(|l| !l.is_empty()) {
        parts.push(format!("等级：{l}"));
    }
    if let Some(s) = item.sentiment.as_deref().filter(|s| !s.is_empty()) {
        parts.push(format!("倾向：{s}"));
    }
    parts.join(" · ")
}

fn items(out: &mut String, items: &[Item], opts: &RenderOptions) {
    out.push_str("<ol class=\"items\">\n");
    for item in items {
        let _ = write!(out, "<li value=\"{}\">", item.n);
        let title = match item.url.as_deref().and_then(web_url) {
            Some(u) => format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{}</a>",
                attr(u),
                esc(&item.title)
            ),
            None => esc(&item.title),
        };
        let _ = write!(out, "<div class=\"item-title\">{title}</div>");
        let meta = item_meta(item);
        if !meta.is_empty() {
            let _ = write!(out, "<div class=\"item-meta\">{}</div>", esc(&meta));
        }
        if !item.summary.trim().is_empty() {
            let _ = write!(
                out,
                "<div class=\"item-summary\">{}</div>",
                text_lines(&item.summary)
            );
        }
        let mut links = String::new();
        match item.url.as_deref() {
            Some(u) if web_url(u).is_some() => links.push_str(&link("原文链接", u)),
            Some(u) if !u.trim().is_empty() => {
                let _ = write!(links, "原文地址：<span class=\"nolink\">{}</span>", esc(u));
            }
            _ => {}
        }
        if let (Some(base), Some(doc)) = (opts.base_url.as_deref(), item.doc.as_deref())
            && let Some(href) = yuqing_link(base, doc)
        {
            if !links.is_empty() {
                links.push(' ');
            }
            links.push_str(&link("在系统中查看", &href));
        }
        if !links.is_empty() {
            let _ = write!(out, "<div class=\"item-links\">{links}</div>");
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn links_are_only_made_for_web_urls() {
        assert!(
            link("x", "https://a.example/?a=1&b=2")
                .contains("href=\"https://a.example/?a=1&amp;b=2\"")
        );
        assert!(!link("x", "javascript:alert(1)").contains("href"));
    }
}
