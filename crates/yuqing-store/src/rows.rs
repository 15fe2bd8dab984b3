//! Reading rows into the model, the same for every backend: the columns of documents and
//! events, and the functions that turn a row of either database into a [`StoredDocument`]
//! or an [`EventRow`] (times are unix milliseconds, JSON columns are text in both).

use crate::handling::PointAdjustment;
use crate::{EventRow, LevelRecord, Result, StoreError};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde_json::{Map, Value};
use sqlx::{ColumnIndex, Decode, Row, Type};
use yuqing_core::{Assessment, Author, Document, Kind, Metrics, StoredDocument};

pub(crate) const DOC_COLUMNS: &str = "seq, platform, id, kind, url, url_canonical, title, text, published_at, published_off, \
     ingested_at, author, metrics, parent_id, root_id, source, extra, rest, group_id, event_id, sentiment, \
     sentiment_score, content_type, categories, corrected";

pub(crate) fn ms_to_utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(crate) fn json_obj(
    seq: i64,
    field: &'static str,
    s: Option<String>,
) -> Result<Map<String, Value>> {
    match s {
        None => Ok(Map::new()),
        Some(s) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Ok(Map::new()),
            Err(e) => Err(StoreError::Corrupt {
                seq,
                field,
                reason: e.to_string(),
            }),
        },
    }
}

pub(crate) fn row_to_doc<'r, R>(r: &'r R) -> Result<StoredDocument>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    f64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
{
    let seq: i64 = r.try_get("seq")?;
    let published_at = match (
        r.try_get::<Option<i64>, _>("published_at")?,
        r.try_get::<Option<i64>, _>("published_off")?,
    ) {
        (Some(ms), off) => {
            let off = FixedOffset::east_opt(off.unwrap_or(0) as i32)
                .unwrap_or_else(|| FixedOffset::east_opt(0).expect("utc"));
            Some(ms_to_utc(ms).with_timezone(&off))
        }
        _ => None,
    };
    let author: Option<String> = r.try_get("author")?;
    let author = match author {
        None => None,
        Some(s) => Some(
            serde_json::from_str::<Author>(&s).map_err(|e| StoreError::Corrupt {
                seq,
                field: "author",
                reason: e.to_string(),
            })?,
        ),
    };
    let metrics: Option<String> = r.try_get("metrics")?;
    let metrics = match metrics {
        None => None,
        Some(s) => Some(
            serde_json::from_str::<Metrics>(&s).map_err(|e| StoreError::Corrupt {
                seq,
                field: "metrics",
                reason: e.to_string(),
            })?,
        ),
    };
    let id: String = r.try_get("id")?;
    let url: Option<String> = r.try_get("url")?;
    let doc = Document {
        // Ids derived from a URL are not the document's own id.
        id: if url.is_some() && id.starts_with("url:") {
            None
        } else {
            Some(id)
        },
        platform: r.try_get("platform")?,
        kind: Kind::parse(r.try_get::<&str, _>("kind")?),
        url,
        title: r.try_get("title")?,
        text: r.try_get("text")?,
        published_at,
        author,
        metrics,
        parent_id: r.try_get("parent_id")?,
        root_id: r.try_get("root_id")?,
        source: r.try_get("source")?,
        extra: json_obj(seq, "extra", r.try_get("extra")?)?,
        rest: json_obj(seq, "rest", r.try_get("rest")?)?,
    };
    Ok(StoredDocument {
        seq,
        doc,
        url_canonical: r.try_get("url_canonical")?,
        ingested_at: ms_to_utc(r.try_get("ingested_at")?),
        group_id: r.try_get("group_id")?,
        event_id: r.try_get("event_id")?,
        assessment: Assessment {
            sentiment: r.try_get::<Option<i64>, _>("sentiment")?.map(|v| v as i8),
            sentiment_score: r
                .try_get::<Option<f64>, _>("sentiment_score")?
                .map(|v| v as f32),
            content_type: r.try_get("content_type")?,
            categories: r.try_get::<i64, _>("categories")? as u32,
            corrected: r.try_get::<i64, _>("corrected")? as u8,
        },
    })
}

pub(crate) const EVENT_COLUMNS: &str = "id, platform, root_id, created_at, updated_at, title, first_id, first_seq, first_at, \
     last_at, documents, originals, comments, views, reposts, likes, negative, critical_category, critical_id, \
     level, level_rule, level_reason, level_reason_en, level_at, level_by, rules_level, graded_seq, merged_into";

pub(crate) fn row_to_event<'r, R>(r: &'r R) -> Result<EventRow>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    let level = match r.try_get::<Option<i64>, _>("level")? {
        None => None,
        Some(level) => Some(LevelRecord {
            level,
            rule: r
                .try_get::<Option<String>, _>("level_rule")?
                .unwrap_or_default(),
            reason: r
                .try_get::<Option<String>, _>("level_reason")?
                .unwrap_or_default(),
            reason_en: r
                .try_get::<Option<String>, _>("level_reason_en")?
                .unwrap_or_default(),
            at: ms_to_utc(r.try_get::<Option<i64>, _>("level_at")?.unwrap_or(0)),
            by: r.try_get("level_by")?,
        }),
    };
    Ok(EventRow {
        id: r.try_get("id")?,
        platform: r.try_get("platform")?,
        root_id: r.try_get("root_id")?,
        created_at: ms_to_utc(r.try_get("created_at")?),
        updated_at: ms_to_utc(r.try_get("updated_at")?),
        title: r.try_get("title")?,
        first_id: r.try_get("first_id")?,
        first_seq: r.try_get("first_seq")?,
        first_at: r.try_get::<Option<i64>, _>("first_at")?.map(ms_to_utc),
        last_at: r.try_get::<Option<i64>, _>("last_at")?.map(ms_to_utc),
        documents: r.try_get("documents")?,
        originals: r.try_get("originals")?,
        comments: r.try_get("comments")?,
        views: r.try_get("views")?,
        reposts: r.try_get("reposts")?,
        likes: r.try_get("likes")?,
        negative: r.try_get("negative")?,
        critical_category: r.try_get("critical_category")?,
        critical_id: r.try_get("critical_id")?,
        mainstream: Vec::new(),
        level,
        rules_level: r.try_get("rules_level")?,
        graded_seq: r.try_get("graded_seq")?,
        merged_into: r.try_get("merged_into")?,
    })
}

/// The columns [`row_to_adjustment`] reads.
pub(crate) const ADJUSTMENT_COLUMNS: &str = "SELECT id, user_id, points, reason, case_id, at, by_user, \
     created_at, revoked_at, revoked_by FROM point_adjustments";

pub(crate) fn row_to_adjustment<'r, R>(r: &'r R) -> Result<PointAdjustment>
where
    R: Row,
    usize: ColumnIndex<R>,
    i32: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(PointAdjustment {
        id: r.try_get(0)?,
        user: r.try_get(1)?,
        points: r.try_get(2)?,
        reason: r.try_get(3)?,
        case_id: r.try_get(4)?,
        at: ms_to_utc(r.try_get(5)?),
        by: r.try_get(6)?,
        created_at: ms_to_utc(r.try_get(7)?),
        revoked_at: r.try_get::<Option<i64>, _>(8)?.map(ms_to_utc),
        revoked_by: r.try_get(9)?,
    })
}
