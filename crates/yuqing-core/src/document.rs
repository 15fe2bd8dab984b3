//! The document: one collected item (a post, a repost, a comment, an article, a message).
//!
//! This is the interchange format of `docs/specs/document-format.md`. Deserialisation is
//! hand-written so that it is fast (a million lines a run), accepts numbers where ids are
//! expected, and keeps every field it does not model in [`Document::rest`] instead of
//! rejecting it. [`Document::validate`] checks the rules that serde cannot express.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, TimeZone};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Largest accepted `text` + `title`, in bytes, unless configured otherwise.
pub const DEFAULT_MAX_TEXT_BYTES: usize = 1 << 20;

/// What kind of item a document is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Kind {
    #[default]
    Post,
    Repost,
    Comment,
    Article,
    Message,
    Reply,
    Video,
    /// Any other lower-case word a source uses; kept as given.
    Other(String),
}

impl Kind {
    pub fn as_str(&self) -> &str {
        match self {
            Kind::Post => "post",
            Kind::Repost => "repost",
            Kind::Comment => "comment",
            Kind::Article => "article",
            Kind::Message => "message",
            Kind::Reply => "reply",
            Kind::Video => "video",
            Kind::Other(s) => s,
        }
    }
    pub fn parse(s: &str) -> Kind {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "" => Kind::Post,
            "post" => Kind::Post,
            "repost" => Kind::Repost,
            "comment" => Kind::Comment,
            "article" => Kind::Article,
            "message" => Kind::Message,
            "reply" => Kind::Reply,
            "video" => Kind::Video,
            _ => Kind::Other(s),
        }
    }
    /// True for items that spread another item (reposts, comments, replies).
    pub fn is_spread(&self) -> bool {
        matches!(self, Kind::Repost | Kind::Comment | Kind::Reply)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who published a document. Fields the model does not know are kept in `rest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Author {
    #[serde(
        default,
        deserialize_with = "opt_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_type: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// Engagement counts at collection time. Fields the model does not know are kept in `rest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub views: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reposts: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likes: Option<i64>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// One collected item, as imported and exported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// The platform's own id (Weibo mid, feed guid, …). With `platform` it is the identity.
    pub id: Option<String>,
    /// Where the item lives: `weibo`, `wechat`, `news`, `forum`, `web`, …
    pub platform: String,
    pub kind: Kind,
    pub url: Option<String>,
    pub title: Option<String>,
    /// The text as collected; may be empty (a plain repost).
    pub text: String,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub author: Option<Author>,
    pub metrics: Option<Metrics>,
    pub parent_id: Option<String>,
    pub root_id: Option<String>,
    /// The configured source (or import file) the item came from.
    pub source: Option<String>,
    pub extra: Map<String, Value>,
    /// Top-level fields this model does not know, kept verbatim.
    pub rest: Map<String, Value>,
}

/// A document as it sits in the store, with the fields yuqing adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredDocument {
    /// Store sequence number: increases with every stored document.
    pub seq: i64,
    #[serde(flatten)]
    pub doc: Document,
    /// Canonical URL (tracking parameters dropped), if the document has a URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_canonical: Option<String>,
    /// When yuqing stored it.
    pub ingested_at: DateTime<chrono::Utc>,
    /// The reprint group it belongs to, if its text was grouped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// The event (事件) it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
    /// What judgement derived from it, as stored (labels are added by the layers above).
    #[serde(skip)]
    pub assessment: Assessment,
}

/// What judgement (研判) derived from one document, in the store's codes. The crates that
/// own the vocabularies turn codes into names (`yuqing_text::sentiment::Label`,
/// `yuqing_judge::content::ContentType`, `yuqing_judge::content::Categories`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Assessment {
    /// 1 positive, 0 neutral, -1 negative; a person's correction wins over the model.
    pub sentiment: Option<i8>,
    /// The model's P(positive).
    pub sentiment_score: Option<f32>,
    /// Content type code.
    pub content_type: Option<i64>,
    /// Category bit set.
    pub categories: u32,
    /// Which fields a person corrected: [`Assessment::SENTIMENT`], [`Assessment::CONTENT_TYPE`].
    pub corrected: u8,
}

impl Assessment {
    pub const SENTIMENT: u8 = 1;
    pub const CONTENT_TYPE: u8 = 2;
}

/// Why a document was refused. Messages name the field and say how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error(
        "文档既没有 id 也没有 url，无法识别；请提供 id（平台内编号）或 url / document has neither id nor url: give it an id (the platform's own id) or a url"
    )]
    MissingIdentity,
    #[error(
        "字段 {field} 过长：{len} 字节，上限 {max} 字节 / field {field} is {len} bytes, the limit is {max} bytes"
    )]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("字段 id 为空 / field id is empty: remove it or give the platform's id")]
    EmptyId,
    #[error(
        "字段 id 不能以 url: 开头（yuqing 为只有网址的文档保留此前缀）/ field id must not start with url: (reserved for documents identified by their URL)"
    )]
    ReservedId,
    #[error(
        "字段 platform 无效：{0:?}，应为小写字母、数字、-、_ / field platform {0:?} is invalid: use lower-case letters, digits, - or _"
    )]
    BadPlatform(String),
}

impl Document {
    /// A new document with the given platform and id and empty text.
    pub fn new(platform: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            platform: platform.into(),
            ..Default::default()
        }
    }

    /// Checks the rules serde cannot express.
    pub fn validate(&self, max_text_bytes: usize) -> Result<(), DocumentError> {
        match &self.id {
            Some(id) if id.trim().is_empty() => return Err(DocumentError::EmptyId),
            Some(id) if id.starts_with("url:") => return Err(DocumentError::ReservedId),
            Some(id) if id.len() > 512 => {
                return Err(DocumentError::TooLong {
                    field: "id",
                    len: id.len(),
                    max: 512,
                });
            }
            None if self.url.as_deref().is_none_or(|u| u.trim().is_empty()) => {
                return Err(DocumentError::MissingIdentity);
            }
            _ => {}
        }
        if self.platform.is_empty()
            || self.platform.len() > 64
            || !self
                .platform
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(DocumentError::BadPlatform(self.platform.clone()));
        }
        let len = self.text.len() + self.title.as_deref().map_or(0, str::len);
        if len > max_text_bytes {
            return Err(DocumentError::TooLong {
                field: "text",
                len,
                max: max_text_bytes,
            });
        }
        if let Some(u) = &self.url
            && u.len() > 4096
        {
            return Err(DocumentError::TooLong {
                field: "url",
                len: u.len(),
                max: 4096,
            });
        }
        Ok(())
    }

    /// Author verified flag, false when unknown.
    pub fn author_verified(&self) -> bool {
        self.author
            .as_ref()
            .and_then(|a| a.verified)
            .unwrap_or(false)
    }

    /// True when the text is empty or only whitespace.
    pub fn is_empty_text(&self) -> bool {
        self.text.trim().is_empty()
    }
}

// ---------------------------------------------------------------------------------------
// Serialisation

impl Serialize for Document {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(id) = &self.id {
            m.serialize_entry("id", id)?;
        }
        m.serialize_entry("platform", &self.platform)?;
        m.serialize_entry("kind", self.kind.as_str())?;
        if let Some(v) = &self.url {
            m.serialize_entry("url", v)?;
        }
        if let Some(v) = &self.title {
            m.serialize_entry("title", v)?;
        }
        m.serialize_entry("text", &self.text)?;
        m.serialize_entry("published_at", &self.published_at.map(|t| t.to_rfc3339()))?;
        if let Some(v) = &self.author {
            m.serialize_entry("author", v)?;
        }
        if let Some(v) = &self.metrics {
            m.serialize_entry("metrics", v)?;
        }
        m.serialize_entry("parent_id", &self.parent_id)?;
        if let Some(v) = &self.root_id {
            m.serialize_entry("root_id", v)?;
        }
        if let Some(v) = &self.source {
            m.serialize_entry("source", v)?;
        }
        if !self.extra.is_empty() {
            m.serialize_entry("extra", &self.extra)?;
        }
        for (k, v) in &self.rest {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

// ---------------------------------------------------------------------------------------
// Deserialisation

/// Accepts a string or an integer id; empty strings and null become `None` only for
/// optional references, never silently for the document id (validated later).
fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(de::Error::custom(format_args!(
                "id 应为字符串或整数，实际为 {other} / an id must be a string or an integer, got {other}"
            )));
        }
    })
}

fn opt_string_lenient(v: Value, field: &str) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(format!(
            "字段 {field} 应为字符串，实际为 {other} / field {field} must be a string, got {other}"
        )),
    }
}

/// Parses a time as RFC 3339, `YYYY-MM-DD HH:MM:SS` (read in `default_offset`), or a Unix
/// timestamp in seconds or milliseconds.
pub fn parse_time(
    v: &Value,
    default_offset: FixedOffset,
) -> Result<Option<DateTime<FixedOffset>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => parse_time_str(s.trim(), default_offset).map(Some),
        Value::Number(n) => {
            let Some(i) = n.as_i64() else {
                return Err(format!(
                    "published_at 不是整数时间戳：{n} / published_at is not an integer timestamp: {n}"
                ));
            };
            // Milliseconds from 10^11 on; floored, so that a time before 1970 keeps its
            // milliseconds (-100000000001 is 999 ms into second -100000001).
            let (secs, ms) = if i.unsigned_abs() >= 100_000_000_000 {
                (i.div_euclid(1000), i.rem_euclid(1000) as u32)
            } else {
                (i, 0)
            };
            let t = default_offset
                .timestamp_opt(secs, ms * 1_000_000)
                .single()
                .ok_or_else(|| {
                    format!("published_at 超出范围：{i} / published_at out of range: {i}")
                })?;
            exportable(t, &i).map(Some)
        }
        other => Err(format!(
            "published_at 应为 RFC 3339 字符串，实际为 {other} / published_at must be an RFC 3339 string, got {other}"
        )),
    }
}

/// RFC 3339 writes the years 0000 to 9999 only. A time outside them could be read but not
/// exported in a form that reads back (`docs/specs/document-format.md` §3, §10), so it is
/// refused as out of range. The year is the one written, in the time's own offset.
fn exportable(
    t: DateTime<FixedOffset>,
    written: &dyn fmt::Display,
) -> Result<DateTime<FixedOffset>, String> {
    if (0..=9999).contains(&t.year()) {
        Ok(t)
    } else {
        Err(format!(
            "published_at 超出范围（年份须在 0000 到 9999 之间）：{written} / published_at out of range (the year must be 0000 to 9999): {written}"
        ))
    }
}

/// String form of [`parse_time`].
pub fn parse_time_str(
    s: &str,
    default_offset: FixedOffset,
) -> Result<DateTime<FixedOffset>, String> {
    exportable(parse_time_forms(s, default_offset)?, &s)
}

fn parse_time_forms(s: &str, default_offset: FixedOffset) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    // In Chinese feeds "CST" is China Standard Time (+08:00), not US Central.
    let rfc2822 = match s.strip_suffix(" CST") {
        Some(head) => std::borrow::Cow::Owned(format!("{head} +0800")),
        None => std::borrow::Cow::Borrowed(s),
    };
    if let Ok(t) = DateTime::parse_from_rfc2822(&rfc2822) {
        return Ok(t);
    }
    // A Unix timestamp written as a string (seconds or milliseconds).
    if !s.is_empty()
        && s.len() <= 16
        && s.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = s.parse::<i64>()
    {
        return parse_time(&Value::from(n), default_offset)?
            .ok_or_else(|| format!("published_at 超出范围：{s} / published_at out of range: {s}"));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt)
            && let Some(t) = default_offset.from_local_datetime(&n).single()
        {
            return Ok(t);
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = default_offset
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
    {
        return Ok(t);
    }
    Err(format!(
        "无法解析时间 {s:?}：请用 RFC 3339，例如 2024-05-01T08:00:00+08:00 / cannot parse time {s:?}: use RFC 3339, e.g. 2024-05-01T08:00:00+08:00"
    ))
}

/// Beijing time, the default offset for times written without one.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DocVisitor)
    }
}

struct DocVisitor;

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (one document)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut doc = Document {
            platform: String::new(),
            ..Default::default()
        };
        let mut platform_set = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "id" => {
                    let v: Value = map.next_value()?;
                    doc.id = opt_string_lenient(v, "id").map_err(de::Error::custom)?;
                }
                "platform" => {
                    let v: Option<String> = map.next_value()?;
                    if let Some(p) = v {
                        doc.platform = p;
                        platform_set = true;
                    }
                }
                "kind" => {
                    let v: Option<String> = map.next_value()?;
                    doc.kind = v.map(|k| Kind::parse(&k)).unwrap_or_default();
                }
                "url" => doc.url = map.next_value()?,
                "title" => doc.title = map.next_value()?,
                "text" => doc.text = map.next_value::<Option<String>>()?.unwrap_or_default(),
                "published_at" => {
                    let v: Value = map.next_value()?;
                    doc.published_at = parse_time(&v, beijing()).map_err(de::Error::custom)?;
                }
                "author" => {
                    let v: Value = map.next_value()?;
                    doc.author = match v {
                        Value::Null => None,
                        Value::String(name) => Some(Author {
                            name: Some(name),
                            ..Default::default()
                        }),
                        v => Some(Author::deserialize(v).map_err(|e| {
                            de::Error::custom(format_args!(
                                "字段 author 无效 / field author is invalid: {e}"
                            ))
                        })?),
                    };
                }
                "metrics" => {
                    let v: Value = map.next_value()?;
                    doc.metrics = match v {
                        Value::Null => None,
                        v => Some(Metrics::deserialize(v).map_err(|e| {
                            de::Error::custom(format_args!(
                                "字段 metrics 无效 / field metrics is invalid: {e}"
                            ))
                        })?),
                    };
                }
                "parent_id" => {
                    let v: Value = map.next_value()?;
                    doc.parent_id =
                        opt_string_lenient(v, "parent_id").map_err(de::Error::custom)?;
                }
                "root_id" => {
                    let v: Value = map.next_value()?;
                    doc.root_id = opt_string_lenient(v, "root_id").map_err(de::Error::custom)?;
                }
                "source" => {
                    let v: Value = map.next_value()?;
                    doc.source = opt_string_lenient(v, "source").map_err(de::Error::custom)?;
                }
                "extra" => {
                    let v: Value = map.next_value()?;
                    match v {
                        Value::Null => {}
                        Value::Object(m) => doc.extra = m,
                        other => {
                            doc.rest.insert("extra".into(), other);
                        }
                    }
                }
                other => {
                    let v: Value = map.next_value()?;
                    doc.rest.insert(other.to_owned(), v);
                }
            }
        }
        if !platform_set {
            doc.platform = "web".to_owned();
        }
        if doc.parent_id.as_deref() == Some("") {
            doc.parent_id = None;
        }
        if doc.root_id.as_deref() == Some("") {
            doc.root_id = None;
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CED_POST: &str = r#"{"id":"yBmepBtUB","kind":"post","event_id":"0_yBmepBtUB_2279086572","parent_id":null,"text":"人间惨剧","published_at":"2012-09-11T11:34:22+08:00","author":{"id":"2279086572","verified":false,"verified_type":-1,"followers":227833,"location":"上海","gender":"f"},"metrics":{"reposts":225,"comments":55,"likes":0},"platform":"weibo","rumor":true,"empty_text":false,"extra":{"source":"微博 weibo.com","pics":1}}"#;

    #[test]
    fn reads_a_ced_post_and_keeps_unknown_fields() {
        let d: Document = serde_json::from_str(CED_POST).unwrap();
        assert_eq!(d.id.as_deref(), Some("yBmepBtUB"));
        assert_eq!(d.kind, Kind::Post);
        assert_eq!(d.platform, "weibo");
        assert_eq!(d.author.as_ref().unwrap().followers, Some(227833));
        assert_eq!(d.metrics.as_ref().unwrap().reposts, Some(225));
        assert_eq!(d.rest.get("rumor"), Some(&Value::Bool(true)));
        assert_eq!(
            d.rest.get("event_id").and_then(Value::as_str),
            Some("0_yBmepBtUB_2279086572")
        );
        assert_eq!(d.extra.get("pics"), Some(&Value::from(1)));
        assert_eq!(
            d.published_at.unwrap().to_rfc3339(),
            "2012-09-11T11:34:22+08:00"
        );
        d.validate(DEFAULT_MAX_TEXT_BYTES).unwrap();
    }

    #[test]
    fn round_trips_through_json() {
        let d: Document = serde_json::from_str(CED_POST).unwrap();
        let s = serde_json::to_string(&d).unwrap();
        let back: Document = serde_json::from_str(&s).unwrap();
        assert_eq!(d, back);
    }

    #[test]
    fn numeric_ids_and_empty_text_are_accepted() {
        let d: Document = serde_json::from_str(
            r#"{"id":123,"platform":"weibo","kind":"repost","text":"","author":{"id":55}}"#,
        )
        .unwrap();
        assert_eq!(d.id.as_deref(), Some("123"));
        assert_eq!(d.author.unwrap().id.as_deref(), Some("55"));
        assert!(d.text.is_empty());
    }

    #[test]
    fn missing_identity_is_refused_with_a_message() {
        let d: Document = serde_json::from_str(r#"{"platform":"weibo","text":"x"}"#).unwrap();
        let e = d.validate(DEFAULT_MAX_TEXT_BYTES).unwrap_err();
        assert_eq!(e, DocumentError::MissingIdentity);
        assert!(e.to_string().contains("id"));
    }

    #[test]
    fn the_url_id_prefix_is_reserved() {
        let d = Document::new("news", "url:0123456789abcdef");
        assert_eq!(
            d.validate(DEFAULT_MAX_TEXT_BYTES),
            Err(DocumentError::ReservedId)
        );
    }

    #[test]
    fn too_long_text_is_refused() {
        let mut d = Document::new("weibo", "1");
        d.text = "字".repeat(1000);
        assert!(matches!(
            d.validate(100),
            Err(DocumentError::TooLong { field: "text", .. })
        ));
    }

    #[test]
    fn bad_time_names_the_value() {
        let e = serde_json::from_str::<Document>(r#"{"id":"1","published_at":"yesterday"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("yesterday"), "{e}");
    }

    #[test]
    fn times_in_other_forms() {
        let off = beijing();
        assert_eq!(
            parse_time_str("2013-01-02 03:04:05", off)
                .unwrap()
                .to_rfc3339(),
            "2013-01-02T03:04:05+08:00"
        );
        assert_eq!(
            parse_time(&Value::from(1_357_066_800), off)
                .unwrap()
                .unwrap()
                .timestamp(),
            1_357_066_800
        );
        assert_eq!(
            parse_time(&Value::from(1_357_066_800_123i64), off)
                .unwrap()
                .unwrap()
                .timestamp_millis(),
            1_357_066_800_123
        );
        assert!(parse_time_str("Sat Jun 29 12:40:09 +0800 2013", off).is_err());
        assert_eq!(
            parse_time_str("Wed, 01 May 2024 08:00:00 CST", off)
                .unwrap()
                .to_rfc3339(),
            "2024-05-01T08:00:00+08:00"
        );
        assert_eq!(
            parse_time_str("1357066800", off).unwrap().timestamp(),
            1_357_066_800
        );
    }
}
