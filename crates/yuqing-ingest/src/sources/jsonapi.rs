//! JSON API sources: GET a URL, find the items array with a JSON pointer, and map each item
//! to a document with one JSON pointer per field.
//!
//! Paging: with `page_param = "page"` (a query parameter) or a `{page}` placeholder in the
//! URL, pages `first_page, first_page + 1, …` are read until one is empty (or its items
//! pointer is missing or null), `max_pages` were read, or an item whose id equals the
//! cursor's `last_id` (the newest item of the previous poll) appears: the API is assumed to
//! list newest first, so everything from there on was already collected.
//!
//! Mappable fields: `id`, `title`, `text` (HTML is turned into plain text), `url` (relative
//! URLs are resolved), `published_at` (RFC 3339, `YYYY-MM-DD HH:MM:SS`, Chinese dates, Unix
//! seconds or milliseconds), `kind`, `parent_id`, `root_id`, `author.id`, `author.name`,
//! `author.verified`, `author.verified_type`, `author.followers`, `author.location`,
//! `author.gender`, `metrics.views`, `metrics.reposts`, `metrics.comments`,
//! `metrics.likes`, and `extra.<name>` (any JSON value, kept as is).

use serde_json::{Value, json};
use url::Url;
use yuqing_core::document::{beijing, parse_time};
use yuqing_core::{Author, Document, Kind, Metrics};

use super::http::FetchOutcome;
use super::{
    Poll, Seen, Source, SourceConfig, SourceError, blocking, content_id, parse_loose_time,
    tidy_text,
};

/// Default most pages per poll when paging is configured.
const DEFAULT_MAX_PAGES: u32 = 5;

#[derive(Debug, Clone, PartialEq)]
enum Target {
    Id,
    Title,
    Text,
    Url,
    PublishedAt,
    Kind,
    ParentId,
    RootId,
    AuthorId,
    AuthorName,
    AuthorVerified,
    AuthorVerifiedType,
    AuthorFollowers,
    AuthorLocation,
    AuthorGender,
    Views,
    Reposts,
    Comments,
    Likes,
    Extra(String),
}

impl Target {
    fn parse(key: &str) -> Option<Target> {
        Some(match key {
            "id" => Target::Id,
            "title" => Target::Title,
            "text" => Target::Text,
            "url" => Target::Url,
            "published_at" => Target::PublishedAt,
            "kind" => Target::Kind,
            "parent_id" => Target::ParentId,
            "root_id" => Target::RootId,
            "author.id" => Target::AuthorId,
            "author.name" => Target::AuthorName,
            "author.verified" => Target::AuthorVerified,
            "author.verified_type" => Target::AuthorVerifiedType,
            "author.followers" => Target::AuthorFollowers,
            "author.location" => Target::AuthorLocation,
            "author.gender" => Target::AuthorGender,
            "metrics.views" => Target::Views,
            "metrics.reposts" => Target::Reposts,
            "metrics.comments" => Target::Comments,
            "metrics.likes" => Target::Likes,
            k => match k.strip_prefix("extra.") {
                Some(name) if !name.is_empty() => Target::Extra(name.to_owned()),
                _ => return None,
            },
        })
    }
}

#[derive(Debug, Clone)]
enum Paging {
    Single,
    Param(String),
    Placeholder,
}

/// A validated JSON API source.
#[derive(Debug, Clone)]
pub(super) struct JsonSpec {
    items: String,
    fields: Vec<(Target, String)>,
    kind: Kind,
    paging: Paging,
    first_page: u64,
    max_pages: u32,
}

impl JsonSpec {
    pub(super) fn from_config(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let err = |zh: String, en: String| SourceError::config(&cfg.name, zh, en);
        let items = cfg.items.clone().unwrap_or_default();
        if !(items.is_empty() || items.starts_with('/')) {
            return Err(err(
                format!(
                    "items = {items:?} 不是 JSON 指针；应以 / 开头，例如 \"/data/list\"（留空表示根就是数组）"
                ),
                format!(
                    "items = {items:?} is not a JSON pointer: start it with /, e.g. \"/data/list\" (leave it out when the root is the array)"
                ),
            ));
        }
        if cfg.fields.is_empty() {
            return Err(err(
                "json_api 源必须写 [sources.fields]，例如 title = \"/title\"、text = \"/content\"".into(),
                "a json_api source needs [sources.fields], e.g. title = \"/title\", text = \"/content\"".into(),
            ));
        }
        let mut fields = Vec::with_capacity(cfg.fields.len());
        for (key, ptr) in &cfg.fields {
            let Some(target) = Target::parse(key) else {
                return Err(err(
                    format!(
                        "fields 中的 {key:?} 不是可映射的字段；可用 id、title、text、url、published_at、kind、parent_id、root_id、author.*、metrics.*、extra.<名称>"
                    ),
                    format!(
                        "{key:?} in fields is not a mappable field; use id, title, text, url, published_at, kind, parent_id, root_id, author.*, metrics.* or extra.<name>"
                    ),
                ));
            };
            if !(ptr.is_empty() || ptr.starts_with('/')) {
                return Err(err(
                    format!(
                        "fields.{key} = {ptr:?} 不是 JSON 指针；应以 / 开头，例如 \"/user/name\""
                    ),
                    format!(
                        "fields.{key} = {ptr:?} is not a JSON pointer: start it with /, e.g. \"/user/name\""
                    ),
                ));
            }
            fields.push((target, ptr.clone()));
        }
        if !fields
            .iter()
            .any(|(t, _)| matches!(t, Target::Text | Target::Title))
        {
            return Err(err(
                "fields 至少要映射 text 或 title".into(),
                "fields must map at least text or title".into(),
            ));
        }
        let has_placeholder = cfg.url.contains("{page}");
        let paging = match (&cfg.page_param, has_placeholder) {
            (Some(_), true) => {
                return Err(err(
                    "page_param 与 url 中的 {page} 只能用一个".into(),
                    "use either page_param or {page} in the url, not both".into(),
                ));
            }
            (Some(p), false) if p.trim().is_empty() => {
                return Err(err(
                    "page_param 不能为空".into(),
                    "page_param must not be empty".into(),
                ));
            }
            (Some(p), false) => Paging::Param(p.trim().to_owned()),
            (None, true) => Paging::Placeholder,
            (None, false) => Paging::Single,
        };
        let max_pages = match (&paging, cfg.max_pages) {
            (Paging::Single, Some(n)) if n > 1 => {
                return Err(err(
                    "max_pages 大于 1 时需要 page_param 或在 url 中写 {page}".into(),
                    "max_pages > 1 needs page_param or {page} in the url".into(),
                ));
            }
            (_, Some(0)) => {
                return Err(err(
                    "max_pages 必须大于 0".into(),
                    "max_pages must be greater than 0".into(),
                ));
            }
            (Paging::Single, _) => 1,
            (_, Some(n)) => n,
            (_, None) => DEFAULT_MAX_PAGES,
        };
        Ok(JsonSpec {
            items,
            fields,
            kind: cfg
                .doc_kind
                .as_deref()
                .map(Kind::parse)
                .unwrap_or(Kind::Post),
            paging,
            first_page: cfg.first_page.unwrap_or(1),
            max_pages,
        })
    }

    fn page_url(&self, base: &str, page: u64) -> String {
        match &self.paging {
            Paging::Single => base.to_owned(),
            Paging::Placeholder => base.replace("{page}", &page.to_string()),
            Paging::Param(p) => match Url::parse(base) {
                Ok(mut u) => {
                    let kept: Vec<(String, String)> = u
                        .query_pairs()
                        .filter(|(k, _)| k != p)
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    u.query_pairs_mut()
                        .clear()
                        .extend_pairs(kept)
                        .append_pair(p, &page.to_string());
                    u.to_string()
                }
                Err(_) => base.to_owned(),
            },
        }
    }
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().replace(',', "").parse().ok(),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Maps one item to a document. Values of the wrong type are left out, never fatal.
fn map_item(
    spec: &JsonSpec,
    item: &Value,
    page_url: &Url,
    source: &str,
    platform: &str,
) -> Document {
    let mut doc = Document {
        platform: platform.to_owned(),
        kind: spec.kind.clone(),
        source: Some(source.to_owned()),
        ..Default::default()
    };
    let mut author = Author::default();
    let mut metrics = Metrics::default();
    for (target, ptr) in &spec.fields {
        let Some(v) = item.pointer(ptr).filter(|v| !v.is_null()) else {
            continue;
        };
        match target {
            Target::Id => doc.id = as_string(v),
            Target::Title => {
                doc.title = as_string(v).map(|t| tidy_text(&yuqing_text::html_to_text(&t)))
            }
            Target::Text => {
                let t = as_string(v).unwrap_or_default();
                doc.text = if yuqing_text::normalize::looks_like_html(&t) {
                    tidy_text(&yuqing_text::html_to_text(&t))
                } else {
                    t
                };
            }
            Target::Url => {
                doc.url = as_string(v)
                    .and_then(|u| page_url.join(&u).ok())
                    .map(|u| u.to_string());
            }
            Target::PublishedAt => {
                doc.published_at = parse_time(v, beijing())
                    .ok()
                    .flatten()
                    .or_else(|| v.as_str().and_then(parse_loose_time));
            }
            Target::Kind => {
                if let Some(k) = as_string(v) {
                    doc.kind = Kind::parse(&k.to_ascii_lowercase());
                }
            }
            Target::ParentId => doc.parent_id = as_string(v),
            Target::RootId => doc.root_id = as_string(v),
            Target::AuthorId => author.id = as_string(v),
            Target::AuthorName => author.name = as_string(v),
            Target::AuthorVerified => author.verified = as_bool(v),
            Target::AuthorVerifiedType => author.verified_type = as_i64(v),
            Target::AuthorFollowers => author.followers = as_i64(v),
            Target::AuthorLocation => author.location = as_string(v),
            Target::AuthorGender => author.gender = as_string(v),
            Target::Views => metrics.views = as_i64(v),
            Target::Reposts => metrics.reposts = as_i64(v),
            Target::Comments => metrics.comments = as_i64(v),
            Target::Likes => metrics.likes = as_i64(v),
            Target::Extra(name) => {
                doc.extra.insert(name.clone(), v.clone());
            }
        }
    }
    if author != Author::default() {
        doc.author = Some(author);
    }
    if metrics != Metrics::default() {
        doc.metrics = Some(metrics);
    }
    if doc.id.is_none() && doc.url.is_none() {
        doc.id = Some(content_id(&[&item.to_string()]));
    }
    doc
}

/// The identity a cursor remembers for a document.
fn identity(d: &Document) -> String {
    d.id.clone().or_else(|| d.url.clone()).unwrap_or_default()
}

/// What one page gave: its items mapped, or the end of the list.
enum Page {
    Items(Vec<Document>),
    End,
}

fn read_page(
    spec: &JsonSpec,
    text: &str,
    url: &Url,
    first: bool,
    source: &str,
    platform: &str,
) -> Result<Page, SourceError> {
    let root: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        SourceError::parse(
            source,
            url.as_str(),
            format!("响应不是合法的 JSON（{e}）；请确认 url 是 JSON 接口"),
            format!("the answer is not valid JSON ({e}); check the url is a JSON API"),
        )
    })?;
    let items = match root.pointer(&spec.items) {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None if !first => return Ok(Page::End),
        Some(Value::Null) => return Ok(Page::End),
        None => {
            return Err(SourceError::parse(
                source,
                url.as_str(),
                format!(
                    "响应中找不到 items = {:?} 指向的数组；请对照接口返回修改 items",
                    spec.items
                ),
                format!(
                    "items = {:?} points at nothing in the answer; compare it with the API's response and fix items",
                    spec.items
                ),
            ));
        }
        Some(other) => {
            let what = match other {
                Value::Object(_) => "object",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                _ => "value",
            };
            return Err(SourceError::parse(
                source,
                url.as_str(),
                format!(
                    "items = {:?} 指向的是 {what} 而不是数组；请修改 items",
                    spec.items
                ),
                format!(
                    "items = {:?} points at a {what}, not an array; fix items",
                    spec.items
                ),
            ));
        }
    };
    if items.is_empty() {
        return Ok(Page::End);
    }
    Ok(Page::Items(
        items
            .iter()
            .map(|it| map_item(spec, it, url, source, platform))
            .collect(),
    ))
}

/// One poll of a JSON API source.
pub(super) async fn poll(
    src: &Source,
    spec: &JsonSpec,
    cursor: Option<&Value>,
) -> Result<Poll, SourceError> {
    let seen = Seen::from_cursor(cursor);
    let last_id = cursor
        .and_then(|c| c.get("last_id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut newest: Option<String> = None;
    let mut documents = Vec::new();
    let mut fresh_ids = Vec::new();
    'pages: for n in 0..spec.max_pages {
        let page = spec.first_page.saturating_add(u64::from(n));
        let url = spec.page_url(&src.url, page);
        let fetched = match src.fetcher.get(&url, None).await? {
            FetchOutcome::Fetched(f) => f,
            FetchOutcome::NotModified => break,
        };
        let spec_c = spec.clone();
        let (name, platform) = (src.name.clone(), src.platform.clone());
        let first = n == 0;
        let result = blocking(&src.name, move || {
            let text = fetched.text();
            read_page(&spec_c, &text, &fetched.url, first, &name, &platform)
        })
        .await??;
        let docs = match result {
            Page::End => break,
            Page::Items(d) => d,
        };
        for d in docs {
            let ident = identity(&d);
            if newest.is_none() {
                newest = Some(ident.clone());
            }
            if last_id.as_deref() == Some(ident.as_str()) {
                break 'pages;
            }
            if seen.contains(&ident) {
                continue;
            }
            fresh_ids.push(ident);
            documents.push(d);
        }
    }
    let mut next = json!({"v": 1, "seen": seen.updated(fresh_ids)});
    if let Some(l) = newest.or(last_id) {
        next["last_id"] = Value::from(l);
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

    fn spec(paging: Paging) -> JsonSpec {
        JsonSpec {
            items: "/data".into(),
            fields: vec![(Target::Id, "/id".into()), (Target::Text, "/body".into())],
            kind: Kind::Post,
            paging,
            first_page: 1,
            max_pages: 3,
        }
    }

    #[test]
    fn page_urls() {
        let s = spec(Paging::Param("page".into()));
        assert_eq!(
            s.page_url("https://x.test/api?page=9&q=a", 2),
            "https://x.test/api?q=a&page=2"
        );
        let s = spec(Paging::Placeholder);
        assert_eq!(
            s.page_url("https://x.test/api/{page}.json", 3),
            "https://x.test/api/3.json"
        );
    }

    #[test]
    fn items_map_leniently() {
        let s = spec(Paging::Single);
        let url = Url::parse("https://x.test/api").unwrap();
        let item = json!({"id": 42, "body": "<p>你好&amp;世界</p>"});
        let d = map_item(&s, &item, &url, "src", "forum");
        assert_eq!(d.id.as_deref(), Some("42"));
        assert_eq!(d.text, "你好&世界");
        let d = map_item(&s, &json!({"body": 5}), &url, "src", "forum");
        assert!(d.id.as_deref().is_some_and(|i| i.starts_with("xxh3:")));
    }
}
