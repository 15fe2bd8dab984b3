//! Web sources: a list page whose article links a CSS selector picks, then each new
//! article page, read with configured selectors or automatically.
//!
//! Automatic main-text extraction is a small text-density heuristic over scraper's DOM (we
//! chose it over a readability crate to keep one HTML parser in the build): every paragraph
//! of real text (`<p>`, or text directly inside a `<div>`/`<td>`, as many Chinese sites
//! write) scores its parent and half of it its grandparent, more for longer text and for
//! commas and full stops; a candidate's score is cut by its link density and by class/id
//! words such as `comment`, `footer`, `share`, raised by `content`, `article`, `text`;
//! navigation, headers, footers, asides and forms never count. The best candidate's text is
//! the article (of equal scores, the element parsed first, so a page always gives the same text).
//!
//! Titles: `title_selector`, else `og:title`, else the first `<h1>`, else `<title>` without
//! its site suffix. Times: `time_selector`, else `article:published_time`-style meta tags,
//! else `<time datetime>`, else the first Chinese or ISO date (2024年5月1日 08:00,
//! 2024-05-01 08:00) in a date-like element, read as +08:00.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use scraper::{ElementRef, Html, Node, Selector};
use serde_json::{Value, json};
use url::Url;
use yuqing_core::{Author, Document, Kind};

use super::http::{FetchOutcome, decode_body};
use super::{
    Poll, Seen, Source, SourceConfig, SourceError, blocking, cursor_validators, find_date_in_text,
    parse_loose_time, tidy_text,
};

/// Default most articles fetched per poll.
const DEFAULT_MAX_ARTICLES: usize = 20;

/// Selectors for reading one article page; `None` means automatic.
#[derive(Debug, Clone, Default)]
pub struct ArticleSelectors {
    pub title: Option<String>,
    pub text: Option<String>,
    pub time: Option<String>,
}

/// What was read from an article page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Article {
    pub title: Option<String>,
    pub text: String,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub author: Option<String>,
}

/// A validated web source.
#[derive(Debug, Clone)]
pub(super) struct WebSpec {
    link_selector: String,
    article: ArticleSelectors,
    max_articles: usize,
}

fn parse_selector(source: &str, key: &str, s: &str) -> Result<Selector, SourceError> {
    Selector::parse(s).map_err(|e| {
        SourceError::config(
            source,
            format!("{key} = {s:?} 不是合法的 CSS 选择器（{e}）"),
            format!("{key} = {s:?} is not a valid CSS selector ({e})"),
        )
    })
}

impl WebSpec {
    pub(super) fn from_config(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let Some(link_selector) = cfg.link_selector.clone() else {
            return Err(SourceError::config(
                &cfg.name,
                "web 源必须写 link_selector（列表页中文章链接的 CSS 选择器），例如 link_selector = \"ul.news a\"",
                "a web source needs link_selector (CSS selector of the article links on the list page), e.g. link_selector = \"ul.news a\"",
            ));
        };
        parse_selector(&cfg.name, "link_selector", &link_selector)?;
        for (key, v) in [
            ("title_selector", &cfg.title_selector),
            ("text_selector", &cfg.text_selector),
            ("time_selector", &cfg.time_selector),
        ] {
            if let Some(s) = v {
                parse_selector(&cfg.name, key, s)?;
            }
        }
        let max_articles = cfg.max_articles.unwrap_or(DEFAULT_MAX_ARTICLES);
        if max_articles == 0 {
            return Err(SourceError::config(
                &cfg.name,
                "max_articles 必须大于 0",
                "max_articles must be greater than 0",
            ));
        }
        Ok(WebSpec {
            link_selector,
            article: ArticleSelectors {
                title: cfg.title_selector.clone(),
                text: cfg.text_selector.clone(),
                time: cfg.time_selector.clone(),
            },
            max_articles,
        })
    }
}

/// Builds a constant selector; `None` only if the constant is wrong (never for the ones
/// used here), so callers degrade instead of panicking.
fn sel(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

/// Absolute http(s) links picked by `link_selector` on a list page, in page order, without
/// repeats (compared after canonicalisation) and without fragments. A selected element that
/// is not an `<a>` contributes its first `<a href>` descendant.
pub fn extract_links(html: &str, base: &Url, link_selector: &str) -> Result<Vec<String>, String> {
    let selector = Selector::parse(link_selector).map_err(|e| e.to_string())?;
    let a_sel = sel("a[href]");
    let doc = Html::parse_document(html);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for el in doc.select(&selector) {
        let href = if el.value().name() == "a" {
            el.value().attr("href")
        } else {
            a_sel
                .as_ref()
                .and_then(|s| el.select(s).next())
                .and_then(|a| a.value().attr("href"))
        };
        let Some(href) = href.map(str::trim).filter(|h| !h.is_empty()) else {
            continue;
        };
        let Ok(mut u) = base.join(href) else {
            continue;
        };
        if !matches!(u.scheme(), "http" | "https") {
            continue;
        }
        u.set_fragment(None);
        let s = u.to_string();
        let key = yuqing_text::url::canonicalize(&s).unwrap_or_else(|| s.clone());
        if seen.insert(key) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Reads title, text, time and author from an article page.
pub fn extract_article(html: &str, selectors: &ArticleSelectors) -> Article {
    let doc = Html::parse_document(html);
    let title = selectors
        .title
        .as_deref()
        .and_then(sel)
        .and_then(|s| doc.select(&s).next().map(|e| element_text(&e)))
        .filter(|t| !t.is_empty())
        .or_else(|| auto_title(&doc));
    let text = match selectors.text.as_deref().and_then(sel) {
        Some(s) => {
            let parts: Vec<String> = doc.select(&s).map(|e| tidy_text(&dom_text(&e))).collect();
            tidy_text(&parts.join("\n"))
        }
        None => main_text(&doc),
    };
    let published_at = selectors
        .time
        .as_deref()
        .and_then(sel)
        .and_then(|s| doc.select(&s).find_map(|e| element_time(&e)))
        .or_else(|| auto_time(&doc));
    let author = meta_content(&doc, &["author", "article:author"])
        .filter(|a| !a.is_empty() && !a.contains("://"));
    Article {
        title,
        text,
        published_at,
        author,
    }
}

/// The main text of an HTML page, found automatically (see the module docs).
pub fn extract_main_text(html: &str) -> String {
    main_text(&Html::parse_document(html))
}

fn element_text(e: &ElementRef) -> String {
    tidy_text(&e.text().collect::<String>())
}

fn meta_content(doc: &Html, names: &[&str]) -> Option<String> {
    let meta = sel("meta")?;
    for want in names {
        for m in doc.select(&meta) {
            let v = m.value();
            let key = v
                .attr("property")
                .or_else(|| v.attr("name"))
                .or_else(|| v.attr("itemprop"));
            if key.is_some_and(|k| k.trim().eq_ignore_ascii_case(want))
                && let Some(c) = v.attr("content")
            {
                return Some(c.trim().to_owned());
            }
        }
    }
    None
}

fn auto_title(doc: &Html) -> Option<String> {
    if let Some(t) = meta_content(doc, &["og:title"]).filter(|t| !t.is_empty()) {
        return Some(t);
    }
    if let Some(t) = sel("h1").and_then(|s| {
        doc.select(&s)
            .map(|e| element_text(&e))
            .find(|t| !t.is_empty())
    }) {
        return Some(t);
    }
    let t = sel("title").and_then(|s| doc.select(&s).next().map(|e| element_text(&e)))?;
    // "标题_新华网" / "Title - Site": drop the site part when the rest is long enough.
    for sep in ["_", " - ", " | ", "｜", " – "] {
        if let Some(i) = t.rfind(sep) {
            let head = t[..i].trim();
            if head.chars().count() >= 4 {
                return Some(head.to_owned());
            }
        }
    }
    (!t.is_empty()).then_some(t)
}

fn element_time(e: &ElementRef) -> Option<DateTime<FixedOffset>> {
    let v = e.value();
    v.attr("datetime")
        .or_else(|| v.attr("content"))
        .and_then(parse_loose_time)
        .or_else(|| parse_loose_time(&element_text(e)))
}

fn auto_time(doc: &Html) -> Option<DateTime<FixedOffset>> {
    const META: &[&str] = &[
        "article:published_time",
        "og:article:published_time",
        "datepublished",
        "pubdate",
        "publishdate",
        "publish_time",
        "publication_date",
        "article:published",
        "dc.date",
        "dc.date.issued",
        "weibo:article:create_at",
        "og:release_date",
    ];
    if let Some(t) = meta_content(doc, META).and_then(|c| parse_loose_time(&c)) {
        return Some(t);
    }
    if let Some(s) = sel("time[datetime], [itemprop=datePublished]")
        && let Some(t) = doc.select(&s).find_map(|e| element_time(&e))
    {
        return Some(t);
    }
    if let Some(s) = sel("time") {
        for e in doc.select(&s) {
            if let Some(t) = find_date_in_text(&element_text(&e)) {
                return Some(t);
            }
        }
    }
    // Elements whose class or id says "time", "date", "info" or "source".
    let all = sel("body *")?;
    for e in doc.select(&all) {
        let v = e.value();
        let marker = format!(
            "{} {}",
            v.attr("class").unwrap_or(""),
            v.attr("id").unwrap_or("")
        )
        .to_ascii_lowercase();
        if !["time", "date", "info", "source", "pub"]
            .iter()
            .any(|w| marker.contains(w))
            || in_chrome(&e)
        {
            continue;
        }
        let text = element_text(&e);
        if text.chars().count() > 300 {
            continue;
        }
        if let Some(t) = find_date_in_text(&text) {
            return Some(t);
        }
    }
    None
}

const NEGATIVE: &[&str] = &[
    "comment",
    "footer",
    "nav",
    "sidebar",
    "share",
    "related",
    "recommend",
    "copyright",
    "menu",
    "breadcrumb",
    "banner",
    "login",
    "toolbar",
];
const POSITIVE: &[&str] = &[
    "article", "content", "text", "main", "body", "post", "detail", "zhengwen", "news_txt",
];

fn class_id(e: &ElementRef) -> String {
    let v = e.value();
    format!(
        "{} {}",
        v.attr("class").unwrap_or(""),
        v.attr("id").unwrap_or("")
    )
    .to_ascii_lowercase()
}

/// True when `e` or an ancestor is page chrome: navigation, header, footer, aside, form,
/// script, or has a negative class/id.
fn in_chrome(e: &ElementRef) -> bool {
    std::iter::once(**e)
        .chain(e.ancestors())
        .filter_map(ElementRef::wrap)
        .any(|a| {
            matches!(
                a.value().name(),
                "nav"
                    | "header"
                    | "footer"
                    | "aside"
                    | "form"
                    | "script"
                    | "style"
                    | "noscript"
                    | "select"
                    | "button"
            ) || {
                let ci = class_id(&a);
                NEGATIVE.iter().any(|w| ci.contains(w))
            }
        })
}

fn paragraph_score(text: &str) -> f64 {
    let len = text.chars().count();
    let commas = text
        .chars()
        .filter(|c| matches!(c, '，' | ',' | '。' | '、' | '；'))
        .count();
    1.0 + commas as f64 + (len as f64 / 50.0).min(5.0)
}

fn link_density(e: &ElementRef) -> f64 {
    let total = visible_chars(e);
    if total == 0 {
        return 1.0;
    }
    let links: usize = sel("a")
        .map(|s| e.select(&s).map(|a| visible_chars(&a)).sum())
        .unwrap_or(0);
    links as f64 / total as f64
}

/// Characters of an element's text a reader sees: no whitespace, nothing of its scripts
/// and styles (whose code must not weigh in choosing the main text: the `html` fuzz
/// target found a `<script>` inside a short `<p>` lifting it past the 10-character floor).
fn visible_chars(e: &ElementRef) -> usize {
    dom_text(e).chars().filter(|c| !c.is_whitespace()).count()
}

/// Plain text of an element read from the parsed DOM: its text nodes in order, without
/// the contents of `script` and `style`, with a line break at the start and end of each
/// block element (as `yuqing_text::html_to_text` does for a fragment). Walked, not
/// serialised and parsed again: an attribute holding `<` or `>` is written back
/// unescaped, and a tag stripper reading that HTML can end the tag early and take a
/// script's code for text (found by the `html` fuzz target). No recursion, so a deeply
/// nested page cannot exhaust the stack.
fn dom_text(e: &ElementRef) -> String {
    use ego_tree::iter::Edge;
    let mut out = String::new();
    // Depth inside script/style elements: their text is skipped.
    let mut hidden = 0usize;
    for edge in e.traverse() {
        match edge {
            Edge::Open(n) => match n.value() {
                Node::Text(t) if hidden == 0 => out.push_str(t),
                Node::Element(el) => {
                    if matches!(el.name(), "script" | "style") {
                        hidden += 1;
                    } else if hidden == 0 && yuqing_text::breaks_line(el.name()) {
                        out.push('\n');
                    }
                }
                _ => {}
            },
            Edge::Close(n) => {
                if let Node::Element(el) = n.value() {
                    if matches!(el.name(), "script" | "style") {
                        hidden -= 1;
                    } else if hidden == 0 && yuqing_text::breaks_line(el.name()) {
                        out.push('\n');
                    }
                }
            }
        }
    }
    out
}

fn main_text(doc: &Html) -> String {
    let mut scores: HashMap<_, f64> = HashMap::new();
    let mut add = |id, s: f64| *scores.entry(id).or_insert(0.0) += s;
    if let Some(p_sel) = sel("p, pre, blockquote") {
        for p in doc.select(&p_sel) {
            let text = tidy_text(&dom_text(&p));
            if text.chars().count() < 10 || in_chrome(&p) {
                continue;
            }
            let s = paragraph_score(&text);
            let mut parents = p.ancestors().filter_map(ElementRef::wrap);
            if let Some(parent) = parents.next() {
                add(parent.id(), s);
            }
            if let Some(grand) = parents.next() {
                add(grand.id(), s / 2.0);
            }
        }
    }
    // Text written straight into a div or td, separated by <br>.
    if let Some(div_sel) = sel("div, td, section, article") {
        for d in doc.select(&div_sel) {
            let own: String = d
                .children()
                .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
                .collect();
            let own = tidy_text(&own);
            if own.chars().count() < 20 || in_chrome(&d) {
                continue;
            }
            let s = paragraph_score(&own);
            add(d.id(), s);
            if let Some(parent) = d.ancestors().find_map(ElementRef::wrap) {
                add(parent.id(), s / 2.0);
            }
        }
    }
    let best = scores
        .into_iter()
        .filter_map(|(id, score)| {
            let e = ElementRef::wrap(doc.tree.get(id)?)?;
            if matches!(e.value().name(), "html" | "body") && score <= 0.0 {
                return None;
            }
            let ci = class_id(&e);
            let mut s = score * (1.0 - link_density(&e));
            if POSITIVE.iter().any(|w| ci.contains(w)) {
                s *= 1.25;
            }
            Some((e, s))
        })
        // Equal scores go to the element parsed first: the map's order is random, and the
        // same page must always give the same text.
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.id().cmp(&a.0.id())));
    match best {
        Some((e, _)) => tidy_text(&dom_text(&e)),
        None => sel("body")
            .and_then(|s| doc.select(&s).next())
            .map(|b| tidy_text(&dom_text(&b)))
            .unwrap_or_default(),
    }
}

/// One poll of a web source: list page (conditional when nothing was left over), then new
/// articles, at most `max_articles`.
pub(super) async fn poll(
    src: &Source,
    spec: &WebSpec,
    cursor: Option<&Value>,
) -> Result<Poll, SourceError> {
    let backlog_before = cursor
        .and_then(|c| c.get("backlog"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let validators = if backlog_before {
        Default::default()
    } else {
        cursor_validators(cursor)
    };
    let list = match src.fetcher.get(&src.url, Some(&validators)).await? {
        FetchOutcome::NotModified => {
            return Ok(Poll {
                documents: Vec::new(),
                cursor: cursor.cloned().unwrap_or_else(|| json!({"v": 1})),
                not_modified: true,
            });
        }
        FetchOutcome::Fetched(f) => f,
    };
    let list_url = list.url.clone();
    let body = list.body.clone();
    let ct = list.content_type.clone();
    let link_selector = spec.link_selector.clone();
    let links = blocking(&src.name, move || {
        let (html, _) = decode_body(&body, ct.as_deref());
        extract_links(&html, &list_url, &link_selector)
    })
    .await?
    .map_err(|e| {
        SourceError::config(
            &src.name,
            format!("link_selector 无效：{e}"),
            format!("link_selector is invalid: {e}"),
        )
    })?;
    if links.is_empty() {
        return Err(SourceError::parse(
            &src.name,
            list.url.as_str(),
            format!(
                "列表页中没有匹配 link_selector = {:?} 的链接；请在浏览器中检查页面结构并修改选择器",
                spec.link_selector
            ),
            format!(
                "no links on the list page match link_selector = {:?}; inspect the page in a browser and fix the selector",
                spec.link_selector
            ),
        ));
    }
    let seen = Seen::from_cursor(cursor);
    let key = |l: &str| yuqing_text::url::canonicalize(l).unwrap_or_else(|| l.to_owned());
    let fresh: Vec<String> = links
        .into_iter()
        .filter(|l| !seen.contains(&key(l)))
        .collect();
    let mut backlog = fresh.len() > spec.max_articles;
    let mut done: Vec<String> = Vec::new();
    let mut documents = Vec::new();
    for link in fresh.into_iter().take(spec.max_articles) {
        let page = match src.fetcher.get(&link, None).await {
            Ok(FetchOutcome::Fetched(f)) => f,
            Ok(FetchOutcome::NotModified) => continue,
            Err(e) => {
                if e.is_transient() {
                    backlog = true;
                } else {
                    done.push(key(&link));
                }
                tracing::warn!(source = %src.name, url = %link, error = %e, "article skipped");
                continue;
            }
        };
        let selectors = spec.article.clone();
        let body = page.body.clone();
        let ct = page.content_type.clone();
        let article = blocking(&src.name, move || {
            let (html, _) = decode_body(&body, ct.as_deref());
            extract_article(&html, &selectors)
        })
        .await?;
        let id = key(&link);
        done.push(id.clone());
        documents.push(Document {
            id: Some(id),
            platform: src.platform.clone(),
            kind: Kind::Article,
            url: Some(link),
            title: article.title,
            text: article.text,
            published_at: article.published_at,
            author: article.author.map(|n| Author {
                name: Some(n),
                ..Default::default()
            }),
            source: Some(src.name.clone()),
            ..Default::default()
        });
    }
    let mut next = json!({"v": 1, "seen": seen.updated(done), "backlog": backlog});
    if let Some(e) = list.validators.etag {
        next["etag"] = Value::from(e);
    }
    if let Some(l) = list.validators.last_modified {
        next["last_modified"] = Value::from(l);
    }
    Ok(Poll {
        documents,
        cursor: next,
        not_modified: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_resolved_and_deduplicated() {
        let html = r#"<ul class="news"><li><a href="/a/1.html#top">一</a></li><li><a href="2.html">二</a></li>
            <li><a href="/a/1.html">again</a></li><li><a href="javascript:void(0)">x</a></li></ul>"#;
        let base = Url::parse("https://example.com/a/list.html").unwrap();
        let links = extract_links(html, &base, "ul.news a").unwrap();
        assert_eq!(
            links,
            vec![
                "https://example.com/a/1.html",
                "https://example.com/a/2.html"
            ]
        );
    }

    #[test]
    fn title_suffix_dropped() {
        let a = extract_article(
            "<html><head><title>某地发布新规定_新华网</title></head><body></body></html>",
            &Default::default(),
        );
        assert_eq!(a.title.as_deref(), Some("某地发布新规定"));
    }
}
